"""The application's state machine, the one place where an application's status changes.

    draft → submitted ⇄ withdrawn (only before closes_at) → eligible | ineligible → in_review
    → reviewed → awarded | reserve | rejected

After submission the content is frozen (a Submission row); a withdrawn application can be
edited and submitted again before the deadline, and every submitted version is kept."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..audit.services import record
from ..core.errors import Conflict
from .models import Application

LABELS = {
    "draft": _l("draft"),
    "submitted": _l("submitted"),
    "withdrawn": _l("withdrawn"),
    "eligible": _l("eligible"),
    "ineligible": _l("not eligible"),
    "in_review": _l("in review"),
    "reviewed": _l("reviewed"),
    "awarded": _l("awarded"),
    "reserve": _l("reserve list"),
    "rejected": _l("not funded"),
}
TRANSITIONS = {
    ("draft", "submitted"),
    ("withdrawn", "submitted"),
    ("submitted", "withdrawn"),
    ("submitted", "eligible"),
    ("submitted", "ineligible"),
    ("eligible", "ineligible"),
    ("ineligible", "eligible"),
    ("eligible", "in_review"),
    ("in_review", "reviewed"),
    ("eligible", "reviewed"),
    ("reviewed", "awarded"),
    ("reviewed", "reserve"),
    ("reviewed", "rejected"),
}
EDITABLE = {"draft", "withdrawn"}


def label(status: str) -> str:
    return str(LABELS.get(status, status))


def is_editable(app: Application) -> bool:
    return app.status in EDITABLE


def transition(app: Application, to: str, actor, **details) -> None:
    """Change the status after checking the table; audited. The caller commits."""
    if (app.status, to) not in TRANSITIONS:
        raise Conflict(
            _(
                "An application that is %(status)s cannot become %(target)s.",
                status=label(app.status),
                target=label(to),
            ),
            code="invalid_transition",
        )
    before = app.status
    app.status = to
    record(actor, f"application.{to}", "application", app.id, before={"status": before}, after={"status": to} | details)
