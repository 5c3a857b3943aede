"""Tests of the browser tier (see tests/conftest.py)."""
