"""Tests of the integration tier (see tests/conftest.py)."""
