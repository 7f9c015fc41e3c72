"""JSON API v1 (see ../shared/API.md); thin endpoints over the same services as the pages."""

from . import (  # noqa: F401  (registers the endpoints)
    accounts,
    applications,
    awards,
    broadcasts,
    calls,
    channels,
    clarifications,
    me,
    organizations,
    questions,
    reviews,
    users,
)
from .core import bp

__all__ = ["bp"]
