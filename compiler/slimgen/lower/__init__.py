"""Lowering: choose a kernel for every quantized node."""
