"""Static memory planning: every activation gets a fixed offset in one arena."""

from .greedy import MemoryPlan, check_plan, plan_arena

__all__ = ["MemoryPlan", "check_plan", "plan_arena"]
