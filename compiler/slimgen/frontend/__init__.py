"""Model loading and import into slimgen's IR."""
