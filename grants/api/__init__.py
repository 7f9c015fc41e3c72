"""JSON API v1 (see ../shared/API.md); thin endpoints over the same services as the pages."""

from . import accounts, applications, awards, calls, channels, clarifications, organizations, questions, reviews  # noqa: F401  (registers the endpoints)
from .core import bp

__all__ = ["bp"]
