"""Quantization: float graphs to the int8 contract (scales, zero points, Q31 multipliers)."""
