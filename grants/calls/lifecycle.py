"""The call's state machine, the one place where a call's status changes.

    draft → published → closed (at closes_at, by itself) → in_review → decided → archived

"closed" is never written: a published call whose closes_at has passed *is* closed, so it
closes on time even when no background job runs. "upcoming" is a published call before
opens_at (applications not yet accepted).

The events are named after the status they lead to, so the audit event of a change is
`call.<new status>` and `transition(call, Status.DECIDED, actor)` reads as the change it makes.
The table is written in effective statuses (closed → in_review); the machine stores the column's
value (published → in_review) and `transition` checks the effective status under the row lock."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..core import clock
from ..core.db import lock
from ..core.errors import Conflict
from ..core.lifecycle import Machine
from .models import Call


class Status(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    CLOSED = "closed"  # computed: published and closes_at has passed
    IN_REVIEW = "in_review"
    DECIDED = "decided"
    ARCHIVED = "archived"


# Named sets: code and templates ask these (or the predicates below), never compare status words.
STORED = frozenset(set(Status) - {Status.CLOSED})  # values the status column holds
PUBLIC = frozenset(set(Status) - {Status.DRAFT})  # shown to everyone, listed, announced
RULES_LOCKED = PUBLIC  # after publication only the wording may be corrected
ASSESSMENT = frozenset({Status.CLOSED, Status.IN_REVIEW})  # eligibility, reviews, ranking
RESULTS_PUBLISHED = frozenset({Status.DECIDED, Status.ARCHIVED})  # public results page exists

LABELS = {
    Status.DRAFT: _l("draft"),
    Status.PUBLISHED: _l("open for applications"),
    Status.CLOSED: _l("closed"),
    Status.IN_REVIEW: _l("in review"),
    Status.DECIDED: _l("decided"),
    Status.ARCHIVED: _l("archived"),
}
UPCOMING_LABEL = _l("opens soon")

S = Status
# (effective status, event) -> new status; the event is named after its target.
EDGES = {
    (S.DRAFT, S.PUBLISHED): S.PUBLISHED,
    (S.CLOSED, S.IN_REVIEW): S.IN_REVIEW,
    (S.IN_REVIEW, S.DECIDED): S.DECIDED,
    (S.DECIDED, S.ARCHIVED): S.ARCHIVED,
}
TRANSITIONS = {(source, event) for (source, event) in EDGES}  # (from, to) pairs, as before


def _stored(status: Status) -> Status:
    return S.PUBLISHED if status == S.CLOSED else status


def _after(call: Call, event: str, actor, before, data) -> None:
    """Derived steps: the moments the public pages show."""
    if event == S.PUBLISHED:
        call.published_at = clock.now()
    elif event == S.DECIDED and call.decided_at is None:
        call.decided_at = clock.now()


machine = Machine(
    "call",
    statuses=Status,
    edges={(_stored(source), str(event)): target for (source, event), target in EDGES.items()},
    labels=LABELS,
    after=_after,
)


def status_at(call: Call, now: datetime) -> Status:
    """The effective status at `now`: a published call is closed from closes_at on."""
    if call.status == S.PUBLISHED and now >= call.closes_at:
        return S.CLOSED
    return Status(call.status)


def effective_status(call: Call) -> Status:
    return status_at(call, clock.now())


def is_upcoming(call: Call, now: datetime | None = None) -> bool:
    now = now or clock.now()
    return call.status == S.PUBLISHED and now < call.opens_at


def is_open(call: Call, now: datetime | None = None) -> bool:
    """Accepting applications: published, opened, not yet closed (server clock, no grace)."""
    now = now or clock.now()
    return call.status == S.PUBLISHED and call.opens_at <= now < call.closes_at


def is_public(call: Call) -> bool:
    return call.status in PUBLIC


def is_draft(call: Call) -> bool:
    return call.status == S.DRAFT


def rules_locked(call: Call) -> bool:
    return call.status in RULES_LOCKED


def results_published(call: Call) -> bool:
    return call.status in RESULTS_PUBLISHED


def in_assessment(call: Call) -> bool:
    return effective_status(call) in ASSESSMENT


def label(call: Call) -> str:
    if is_upcoming(call):
        return str(UPCOMING_LABEL)
    return str(LABELS[effective_status(call)])


def can(call: Call, to: Status | str) -> bool:
    """Whether the call may move to `to` now (effective status, e.g. review only once closed)."""
    return (effective_status(call), str(to)) in TRANSITIONS


def next_statuses(call: Call) -> list[Status]:
    """The statuses a manager may move the call to now (the buttons on the manage page)."""
    current = effective_status(call)
    return [target for (source, _event), target in EDGES.items() if source == current]


def transition(call: Call, to: Status | str, actor, *, locked: bool = False, **details) -> Status:
    """Move the call to `to`: takes the row lock (unless the caller holds it), checks the edge
    against the effective status, writes the status, audits `call.<to>`, applies the derived
    steps. The caller's unit of work commits; a refused edge raises Conflict `invalid_transition`."""
    to = Status(to)
    if not locked and call.id is not None:
        lock(call)
    current = effective_status(call)
    if (current, to) not in TRANSITIONS:
        if current == to or (to == S.PUBLISHED and current != S.DRAFT):
            raise Conflict(_("The call is already %(status)s.", status=LABELS[current]), code="invalid_transition")
        raise Conflict(
            _("A call that is %(status)s cannot become %(target)s.", status=LABELS[current], target=LABELS[to]),
            code="invalid_transition",
        )
    return machine.transition(call, str(to), actor, locked=True, **details)
