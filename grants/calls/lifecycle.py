"""The call's state machine, the one place where a call's status changes.

    draft → published → closed (at closes_at, by itself) → in_review → decided → archived

"closed" is never written: a published call whose closes_at has passed *is* closed, so it
closes on time even when no background job runs. "upcoming" is a published call before
opens_at (applications not yet accepted)."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..audit.services import record
from ..core import clock
from ..core.errors import Conflict
from .models import Call


class Status(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    CLOSED = "closed"
    IN_REVIEW = "in_review"
    DECIDED = "decided"
    ARCHIVED = "archived"


LABELS = {
    Status.DRAFT: _l("draft"),
    Status.PUBLISHED: _l("open for applications"),
    Status.CLOSED: _l("closed"),
    Status.IN_REVIEW: _l("in review"),
    Status.DECIDED: _l("decided"),
    Status.ARCHIVED: _l("archived"),
}
UPCOMING_LABEL = _l("opens soon")

# (from, to): the effective status the call must be in for the transition.
TRANSITIONS = {
    (Status.DRAFT, Status.PUBLISHED),
    (Status.CLOSED, Status.IN_REVIEW),
    (Status.IN_REVIEW, Status.DECIDED),
    (Status.DECIDED, Status.ARCHIVED),
}


def status_at(call: Call, now: datetime) -> Status:
    """The effective status at `now`: a published call is closed from closes_at on."""
    if call.status == Status.PUBLISHED and now >= call.closes_at:
        return Status.CLOSED
    return Status(call.status)


def effective_status(call: Call) -> Status:
    return status_at(call, clock.now())


def is_upcoming(call: Call, now: datetime | None = None) -> bool:
    now = now or clock.now()
    return call.status == Status.PUBLISHED and now < call.opens_at


def is_open(call: Call, now: datetime | None = None) -> bool:
    """Accepting applications: published, opened, not yet closed (server clock, no grace)."""
    now = now or clock.now()
    return call.status == Status.PUBLISHED and call.opens_at <= now < call.closes_at


def is_public(call: Call) -> bool:
    return call.status != Status.DRAFT


def label(call: Call) -> str:
    if is_upcoming(call):
        return str(UPCOMING_LABEL)
    return str(LABELS[effective_status(call)])


def transition(call: Call, to: Status, actor) -> None:
    """Change the status (checks, writes, audits); the caller commits."""
    current = effective_status(call)
    if (current, to) not in TRANSITIONS:
        if current == to or (to == Status.PUBLISHED and current != Status.DRAFT):
            raise Conflict(_("The call is already %(status)s.", status=LABELS[current]), code="invalid_transition")
        raise Conflict(
            _("A call that is %(status)s cannot become %(target)s.", status=LABELS[current], target=LABELS[to]),
            code="invalid_transition",
        )
    before = call.status
    call.status = Status.IN_REVIEW if to == Status.IN_REVIEW else to
    if to == Status.PUBLISHED:
        call.published_at = clock.now()
    record(actor, f"call.{to}", "call", call.id, before={"status": before}, after={"status": call.status})
