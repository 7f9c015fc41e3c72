"""Who may do what in the review stage: the one place for these rules."""

from __future__ import annotations

from flask import abort

from ..accounts.models import Role
from ..extensions import db
from .models import Assignment


def is_reviewer(user) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.has_role(Role.REVIEWER))


def get_assignment_or_404(assignment_id: int, user, *, opened: bool = False) -> Assignment:
    """The reviewer's own assignment. With `opened`, only after declaring no conflict (the
    content stays closed before that, and for a conflicted reviewer, forever)."""
    assignment = db.session.get(Assignment, assignment_id)
    if assignment is None or not getattr(user, "is_authenticated", False) or assignment.reviewer_id != user.id:
        abort(404)
    if opened and assignment.status not in ("declared", "submitted"):
        abort(404)
    return assignment
