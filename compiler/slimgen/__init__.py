"""slimgen: trained PyTorch model in, small bit-exact int8 C for Cortex-M out."""

__version__ = "0.1.0"
