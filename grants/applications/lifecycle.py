"""The application's state machine, the one place where an application's status changes.

    draft → submitted ⇄ withdrawn (only before closes_at) → eligible | ineligible → in_review
    → reviewed → awarded | reserve | rejected (→ reviewed again when the decision changes)

After submission the content is frozen (a Submission row); a withdrawn application can be
edited and submitted again before the deadline, and every submitted version is kept.

The events are named after the status they lead to ("submitted", "withdrawn", …), so the audit
event of a change is `application.<new status>` and `transition(app, "reviewed", actor)` reads as
the change it makes."""

from __future__ import annotations

import enum

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext

from ..core.lifecycle import Machine
from .models import Application


class Status(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    WITHDRAWN = "withdrawn"
    ELIGIBLE = "eligible"
    INELIGIBLE = "ineligible"
    IN_REVIEW = "in_review"
    REVIEWED = "reviewed"
    AWARDED = "awarded"
    RESERVE = "reserve"
    REJECTED = "rejected"


# Named sets: code and templates ask these, never compare status words.
EDITABLE = frozenset({Status.DRAFT, Status.WITHDRAWN})  # the consortium may change the content
SUBMITTED = frozenset(set(Status) - EDITABLE)  # frozen: submitted and everything after it
DECIDED = frozenset({Status.AWARDED, Status.RESERVE, Status.REJECTED})  # the applicant may read the result
UNDER_ASSESSMENT = frozenset({Status.SUBMITTED, Status.ELIGIBLE, Status.IN_REVIEW, Status.REVIEWED})

LABELS = {
    Status.DRAFT: _l("draft"),
    Status.SUBMITTED: lazy_pgettext("application", "submitted"),
    Status.WITHDRAWN: _l("withdrawn"),
    Status.ELIGIBLE: _l("eligible"),
    Status.INELIGIBLE: _l("not eligible"),
    Status.IN_REVIEW: _l("in review"),
    Status.REVIEWED: _l("reviewed"),
    Status.AWARDED: _l("awarded"),
    Status.RESERVE: _l("reserve list"),
    Status.REJECTED: _l("not funded"),
}

S = Status
EDGES = {
    (S.DRAFT, "submitted"): S.SUBMITTED,
    (S.WITHDRAWN, "submitted"): S.SUBMITTED,
    (S.SUBMITTED, "withdrawn"): S.WITHDRAWN,
    (S.SUBMITTED, "eligible"): S.ELIGIBLE,
    (S.SUBMITTED, "ineligible"): S.INELIGIBLE,
    (S.ELIGIBLE, "ineligible"): S.INELIGIBLE,
    (S.INELIGIBLE, "eligible"): S.ELIGIBLE,
    (S.ELIGIBLE, "in_review"): S.IN_REVIEW,
    (S.IN_REVIEW, "reviewed"): S.REVIEWED,
    (S.ELIGIBLE, "reviewed"): S.REVIEWED,
    (S.REVIEWED, "awarded"): S.AWARDED,
    (S.REVIEWED, "reserve"): S.RESERVE,
    (S.REVIEWED, "rejected"): S.REJECTED,
    # A changed decision (a new version, or an upheld appeal that reopens it) goes back through
    # "reviewed" before its new outcome.
    (S.AWARDED, "reviewed"): S.REVIEWED,
    (S.RESERVE, "reviewed"): S.REVIEWED,
    (S.REJECTED, "reviewed"): S.REVIEWED,
}
TRANSITIONS = {(str(source), event) for (source, event) in EDGES}  # (from, to) pairs, as before

machine = Machine("application", statuses=Status, edges=EDGES, labels=LABELS)


def label(status) -> str:
    return machine.label(status)


def is_editable(app: Application) -> bool:
    return app.status in EDITABLE


def is_submitted(app: Application) -> bool:
    return app.status in SUBMITTED


def is_decided(app: Application) -> bool:
    return app.status in DECIDED


def can(app: Application, to: str) -> bool:
    return machine.can(app, str(to))


def transition(app: Application, to: str, actor, *, locked: bool = False, **details) -> Status:
    """Move the application to status `to` (the event has the name of its target): takes the row
    lock (unless the caller already holds it), checks the edge, audits `application.<to>`.
    The caller's unit of work commits; a refused edge raises Conflict `invalid_transition`."""
    return machine.transition(app, str(to), actor, locked=locked, **details)
