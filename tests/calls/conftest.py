"""Call fixtures live in tests/conftest.py (shared with applications); re-exported here."""

from conftest import NOW, call_data  # noqa: F401
