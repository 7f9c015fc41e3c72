"""The review stage's state machines, the one place where an assignment's, a decision's or an
appeal's status changes (DESIGN.md "State machines").

    Assignment: pending → declared (no conflict) → submitted (→ declared again when reopened);
                pending | declared → conflicted (declared by the reviewer, found later, or reassigned)
    Decision:   decided (a change is a new version) → reopened (an upheld appeal) → decided
    Appeal:     filed → upheld | dismissed

Application status changes that decisions cause go through `grants.applications.lifecycle`."""

from __future__ import annotations

import enum

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext

from ..core.lifecycle import Machine
from ..extensions import db


class AssignmentStatus(enum.StrEnum):
    PENDING = "pending"
    DECLARED = "declared"
    CONFLICTED = "conflicted"
    SUBMITTED = "submitted"


A = AssignmentStatus
# Named sets: code and templates ask these, never compare status words.
OPEN = frozenset({A.PENDING, A.DECLARED})  # the reviewer still owes the review (due dates, "overdue")
OPENED = frozenset({A.DECLARED, A.SUBMITTED})  # the reviewer may read the content
ACTIVE = frozenset({A.PENDING, A.DECLARED, A.SUBMITTED})  # holds a seat (counts in a reviewer's load)

ASSIGNMENT_LABELS = {
    A.PENDING: _l("waiting for your declaration"),
    A.DECLARED: _l("in progress"),
    A.CONFLICTED: _l("conflict of interest"),
    A.SUBMITTED: lazy_pgettext("review", "submitted"),
}
assignment_machine = Machine(
    "assignment",
    statuses=AssignmentStatus,
    edges={
        (A.PENDING, "declare"): A.DECLARED,
        (A.PENDING, "declare_conflict"): A.CONFLICTED,
        (A.PENDING, "conflict_found"): A.CONFLICTED,
        (A.DECLARED, "conflict_found"): A.CONFLICTED,
        (A.PENDING, "reassign"): A.CONFLICTED,
        (A.DECLARED, "reassign"): A.CONFLICTED,
        (A.DECLARED, "submit"): A.SUBMITTED,
        (A.SUBMITTED, "reopen"): A.DECLARED,
    },
    labels=ASSIGNMENT_LABELS,
    describe=lambda a: {"application": a.application_id, "seat": a.seat},
)


class DecisionStatus(enum.StrEnum):
    DECIDED = "decided"
    REOPENED = "reopened"


D = DecisionStatus
DECISION_LABELS = {D.DECIDED: _l("decided"), D.REOPENED: _l("reopened after an appeal")}
decision_machine = Machine(
    "decision",
    statuses=DecisionStatus,
    edges={
        (D.DECIDED, "revise"): D.DECIDED,  # a new version of the decision
        (D.DECIDED, "reopen"): D.REOPENED,  # an upheld appeal
        (D.REOPENED, "decide"): D.DECIDED,
    },
    labels=DECISION_LABELS,
    describe=lambda d: {"application": d.application_id, "version": d.version, "outcome": d.outcome},
)


class AppealStatus(enum.StrEnum):
    FILED = "filed"
    UPHELD = "upheld"
    DISMISSED = "dismissed"


P = AppealStatus
ANSWERED = frozenset({P.UPHELD, P.DISMISSED})
APPEAL_LABELS = {P.FILED: _l("waiting for the answer"), P.UPHELD: _l("upheld"), P.DISMISSED: _l("dismissed")}
appeal_machine = Machine(
    "appeal",
    statuses=AppealStatus,
    edges={(P.FILED, "upheld"): P.UPHELD, (P.FILED, "dismissed"): P.DISMISSED},
    labels=APPEAL_LABELS,
    describe=lambda p: {"application": p.application_id, "decision_version": p.decision_version},
)


def lock(obj):
    """Take the row lock on `obj`'s own row (SELECT … FOR UPDATE OF its table) and reload it.
    Assignments, decisions and applications load related rows through outer joins, and
    PostgreSQL refuses a plain FOR UPDATE over the nullable side of an outer join."""
    db.session.refresh(obj, with_for_update={"of": type(obj)})
    return obj


def is_open(assignment) -> bool:
    return assignment.status in OPEN


def is_opened(assignment) -> bool:
    return assignment.status in OPENED


def is_answered(appeal) -> bool:
    return appeal.status in ANSWERED


def _transition(machine: Machine, obj, event: str, actor, *, locked: bool = False, **data):
    if not locked:
        lock(obj)
    return machine.transition(obj, event, actor, locked=True, **data)


def transition_assignment(assignment, event: str, actor, *, locked: bool = False, **data):
    return _transition(assignment_machine, assignment, event, actor, locked=locked, **data)


def transition_decision(decision, event: str, actor, *, locked: bool = False, **data):
    return _transition(decision_machine, decision, event, actor, locked=locked, **data)


def transition_appeal(appeal, event: str, actor, *, locked: bool = False, **data):
    return _transition(appeal_machine, appeal, event, actor, locked=locked, **data)
