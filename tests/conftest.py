"""Shared fixtures. Per-topic fixtures live beside their tests (tests/<topic>/conftest.py)."""
