"""slimgen's graph IR: typed values, nodes in execution order, and per-op attributes."""

from .graph import Graph, Node, QParams, Value

__all__ = ["Graph", "Node", "QParams", "Value"]
