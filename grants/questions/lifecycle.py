"""A call question's state machine, the one place where its status changes.

asked → answered (published on the call page; an answer may be edited) | rejected
"""

from __future__ import annotations

import enum

from flask_babel import lazy_gettext as _l

from ..core.lifecycle import Machine


class Status(enum.StrEnum):
    ASKED = "asked"
    ANSWERED = "answered"
    REJECTED = "rejected"


PENDING = frozenset({Status.ASKED})
PUBLISHED = frozenset({Status.ANSWERED})

LABELS = {
    Status.ASKED: _l("waiting for an answer"),
    Status.ANSWERED: _l("answered and published"),
    Status.REJECTED: _l("not published"),
}

S = Status
EDGES = {
    (S.ASKED, "answer"): S.ANSWERED,
    (S.ASKED, "reject"): S.REJECTED,
    (S.ANSWERED, "edit"): S.ANSWERED,  # a corrected answer is not sent again
}

machine = Machine("question", statuses=Status, edges=EDGES, labels=LABELS, describe=lambda q: {"call": q.call_id})


def transition(question, event: str, actor, **data):
    return machine.transition(question, event, actor, **data)


def label(question) -> str:
    return machine.label(question.status)


def is_pending(question) -> bool:
    return question.status in PENDING


def is_published(question) -> bool:
    return question.status in PUBLISHED
