"""Compiling C: the host build used by tests and the host runner (host.py)."""
