"""Tests of the unit tier (see tests/conftest.py)."""
