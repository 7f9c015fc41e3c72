"""Who may do what in the review stage: the one place for these rules. Views, the API, templates
(as context helpers) and alert kinds ask these predicates; none of them compares status words."""

from __future__ import annotations

from datetime import datetime

from flask import abort

from ..accounts.models import Role
from ..applications import lifecycle as app_lifecycle
from ..core import clock
from ..extensions import db
from . import lifecycle
from .lifecycle import AppealStatus, AssignmentStatus, DecisionStatus
from .models import Assignment

# Applications whose eligibility a manager may still confirm or refuse.
SCREENABLE = frozenset({app_lifecycle.Status.SUBMITTED, app_lifecycle.Status.ELIGIBLE, app_lifecycle.Status.INELIGIBLE})


def _signed_in(user) -> bool:
    return bool(getattr(user, "is_authenticated", False))


def is_reviewer(user) -> bool:
    return bool(_signed_in(user) and user.has_role(Role.REVIEWER))


def is_manager(user) -> bool:
    return bool(_signed_in(user) and user.is_manager)


# --- assignments ---------------------------------------------------------------------------------


def is_overdue(assignment, now: datetime | None = None) -> bool:
    """The one definition of an overdue review: still owed (pending or declared) after its due
    date. Pages, the API and alerts ask this (or `overdue_clause` in SQL)."""
    return assignment.status in lifecycle.OPEN and assignment.due_at < (now or clock.now())


def overdue_clause(now: datetime):
    """`is_overdue` as a SQL condition on Assignment."""
    return Assignment.status.in_(tuple(lifecycle.OPEN)) & (Assignment.due_at < now)


def can_open(assignment) -> bool:
    """The reviewer may follow the link to the assignment (the declaration or the content)."""
    return assignment.status != AssignmentStatus.CONFLICTED


def can_read_content(user, assignment) -> bool:
    """Only the assigned reviewer, after declaring no conflict."""
    return bool(_signed_in(user) and assignment.reviewer_id == user.id and lifecycle.is_opened(assignment))


def can_declare(user, assignment) -> bool:
    return bool(_signed_in(user) and assignment.reviewer_id == user.id
                and assignment.status == AssignmentStatus.PENDING)  # fmt: skip


def can_reassign(assignment) -> bool:
    """A manager may move a seat that is still owed (a seat a conflict left empty is filled too:
    `assigning.seats_to_reassign`)."""
    return assignment.status in lifecycle.OPEN


def can_reopen(assignment) -> bool:
    return assignment.status == AssignmentStatus.SUBMITTED


def can_set_eligibility(app) -> bool:
    return app.status in SCREENABLE


def get_assignment_or_404(assignment_id: int, user, *, opened: bool = False) -> Assignment:
    """The reviewer's own assignment. With `opened`, only after declaring no conflict (the
    content stays closed before that, and for a conflicted reviewer, forever)."""
    assignment = db.session.get(Assignment, assignment_id)
    if assignment is None or not _signed_in(user) or assignment.reviewer_id != user.id:
        abort(404)
    if opened and not can_read_content(user, assignment):
        abort(404)
    return assignment


# --- decisions and appeals -------------------------------------------------------------------------


def is_decided(decision) -> bool:
    return decision is not None and decision.status == DecisionStatus.DECIDED


def is_reopened(decision) -> bool:
    return decision is not None and decision.status == DecisionStatus.REOPENED


def can_read_decision(user, found, decision) -> bool:
    """Managers always; the consortium's members once there is a decision (`found` is the
    applications domain's Access of the user to the application)."""
    if decision is None or found is None:
        return False
    return bool(found.manager or found.member)


def can_appeal(found, decision, appeal, deadline, now: datetime | None = None) -> bool:
    """The lead appeals a decided version once, until the deadline."""
    return bool(found and found.lead and is_decided(decision) and appeal is None
                and (now or clock.now()) <= deadline)  # fmt: skip


def can_appeal_eligibility(found, appeal, deadline, now: datetime | None = None) -> bool:
    """Acting for the lead, an ineligible application is appealed once, until the deadline."""
    return bool(found and found.lead and deadline is not None and appeal is None and (now or clock.now()) <= deadline)


def can_answer_appeal(user, appeal) -> bool:
    return bool(is_manager(user) and appeal.status == AppealStatus.FILED)


def is_answered(appeal) -> bool:
    return appeal is not None and lifecycle.is_answered(appeal)


def template_helpers() -> dict:
    """Predicates and named sets for the review templates."""
    return {
        "review_overdue": is_overdue, "can_open_review": can_open, "can_reassign": can_reassign,
        "can_reopen_review": can_reopen, "can_set_eligibility": can_set_eligibility,
        "decision_is_decided": is_decided, "decision_is_reopened": is_reopened, "appeal_answered": is_answered,
    }  # fmt: skip
