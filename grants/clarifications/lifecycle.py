"""The clarification request's state machine, the one place where its status changes.

    open → answered (→ answered again: each answer is one more addendum) → closed; open → closed

A manager closes a request; the lead answers while it is not closed and `reply_by` has not passed."""

from __future__ import annotations

import enum

from flask_babel import lazy_gettext as _l

from ..core.lifecycle import Machine


class Status(enum.StrEnum):
    OPEN = "open"
    ANSWERED = "answered"
    CLOSED = "closed"


ANSWERABLE = frozenset({Status.OPEN, Status.ANSWERED})  # the lead may still add an answer (before reply_by)

LABELS = {
    Status.OPEN: _l("waiting for an answer"),
    Status.ANSWERED: _l("answered"),
    Status.CLOSED: _l("request closed"),
}

S = Status
EDGES = {
    (S.OPEN, "answered"): S.ANSWERED,
    (S.ANSWERED, "answered"): S.ANSWERED,
    (S.OPEN, "closed"): S.CLOSED,
    (S.ANSWERED, "closed"): S.CLOSED,
}

machine = Machine("clarification", statuses=Status, edges=EDGES, labels=LABELS)


def label(status) -> str:
    return machine.label(status)


def is_answerable(item) -> bool:
    return item.status in ANSWERABLE


def is_closed(item) -> bool:
    return item.status == Status.CLOSED


def transition(item, event: str, actor, *, locked: bool = False, **details) -> Status:
    return machine.transition(item, event, actor, locked=locked, **details)
