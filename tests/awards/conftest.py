"""The review stage fixture is shared with the award tests."""

from reviews.conftest import stage  # noqa: F401
