"""Test helpers live here as a package: ``from tests.models import ZOO``."""
