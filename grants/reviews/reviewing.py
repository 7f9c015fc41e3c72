"""The reviewer's work: the declaration (pledge, conflict of interest), scoring, submitting, a
manager reopening a submitted review, and the conflict re-check on every open, declare and save."""

from __future__ import annotations

from fractions import Fraction

from flask_babel import gettext as _
from sqlalchemy import select

from ..calls.models import Call
from ..core import clock
from ..core.db import transactional
from ..core.errors import Conflict, Forbidden, ValidationFailed
from ..extensions import db
from . import lifecycle
from .assigning import replace
from .lifecycle import AssignmentStatus, lock
from .models import Assignment, Review, ReviewerConflict
from .pool import excluded


def _own(reviewer, assignment: Assignment) -> None:
    if assignment.reviewer_id != reviewer.id:
        raise Forbidden(_("This is not your assignment."))


def _conflicting(assignment: Assignment) -> set[int]:
    """Consortium organizations the reviewer is now linked to (a membership, an affiliation or a
    declared conflict that appeared after the assignment was made)."""
    members = set(assignment.application.consortium.member_ids())
    return set(excluded([assignment.reviewer_id])[assignment.reviewer_id]) & members


def _mark_conflicted(actor, assignment: Assignment, organizations: set[int]) -> None:
    assignment.conflict_reason = _("A link with a consortium organization appeared after the assignment.")
    lifecycle.transition_assignment(assignment, "conflict_found", actor, locked=True,
                                    organizations=",".join(map(str, sorted(organizations))))  # fmt: skip


@transactional
def recheck_conflict(actor, assignment: Assignment, *, locked: bool = False) -> bool:
    """Re-check an owed assignment against the reviewer's links today. A link that appeared
    after the assignment marks it conflicted (the content closes, the manager reassigns the
    seat). True when the assignment is (now) conflicted."""
    if not locked:
        lock(assignment)
    if assignment.status == AssignmentStatus.CONFLICTED:
        return True
    if not lifecycle.is_open(assignment):
        return False
    found = _conflicting(assignment)
    if found:
        _mark_conflicted(actor, assignment, found)
        return True
    return False


@transactional
def recheck_conflicts_of(user) -> list[Assignment]:
    """After the reviewer's links changed: mark every owed assignment they now conflict with."""
    marked = []
    for assignment in db.session.execute(select(Assignment).where(
            Assignment.reviewer_id == user.id, Assignment.status.in_(tuple(lifecycle.OPEN)))).scalars().all():  # fmt: skip
        if recheck_conflict(user, assignment):
            marked.append(assignment)
    return marked


@transactional
def open_assignment(reviewer, assignment: Assignment) -> bool:
    """The reviewer opens the assignment: False when a conflict was found (nothing to show)."""
    _own(reviewer, assignment)
    return not recheck_conflict(reviewer, assignment)


@transactional
def declare(reviewer, assignment: Assignment, *, conflict: bool, reason: str = "", pledge: bool = True) -> Assignment:
    """Before the content opens: the confidentiality pledge and a conflict declaration. A
    conflict returns the assignment for reassignment (to the next least-loaded reviewer). A
    "no conflict" while the reviewer is linked to a consortium organization records the conflict
    instead (the returned assignment is conflicted). Two answers at once: one is recorded."""
    _own(reviewer, assignment)
    lock(assignment)
    if assignment.status != AssignmentStatus.PENDING:
        raise Conflict(_("You have already answered for this assignment."), code="already_declared")
    if not conflict and not pledge:
        raise ValidationFailed(_("Accept the confidentiality pledge to open the application."),
                               fields={"pledge": [_("Required.")]})  # fmt: skip
    now = clock.now()
    assignment.declared_at = now
    if not conflict:
        found = _conflicting(assignment)
        if found:
            _mark_conflicted(reviewer, assignment, found)
            return assignment
        assignment.pledge_accepted_at = now
        lifecycle.transition_assignment(assignment, "declare", reviewer, locked=True)
        return assignment
    assignment.conflict_reason = (reason or "").strip()[:2000]
    lead_id = assignment.application.consortium.lead_organization_id
    if db.session.get(ReviewerConflict, (reviewer.id, lead_id)) is None:
        db.session.add(ReviewerConflict(user_id=reviewer.id, organization_id=lead_id, reason=assignment.conflict_reason))
    lifecycle.transition_assignment(assignment, "declare_conflict", reviewer, locked=True)
    db.session.flush()
    replace(assignment)
    return assignment


def clean_review(call: Call, scores: dict, comments: dict, *, complete: bool) -> tuple[dict, dict]:
    criteria = {c.key: c for c in call.criteria}
    errors: dict[str, list[str]] = {}
    out_scores: dict[str, float] = {}
    for key, value in (scores or {}).items():
        if key not in criteria:
            errors[f"scores.{key}"] = [_("Unknown criterion.")]
            continue
        if value in (None, ""):
            continue
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            errors[f"scores.{key}"] = [_("Please enter a number.")]
            continue
        try:
            number = Fraction(str(value).replace(",", "."))
        except (ValueError, ZeroDivisionError, OverflowError):
            errors[f"scores.{key}"] = [_("Please enter a number.")]
            continue
        if not 0 <= number <= criteria[key].max_score:
            errors[f"scores.{key}"] = [_("The score must be from 0 to %(max)d.", max=criteria[key].max_score)]
            continue
        out_scores[key] = float(number) if number.denominator != 1 else int(number)
    if complete:
        for key in criteria:
            if key not in out_scores and f"scores.{key}" not in errors:
                errors[f"scores.{key}"] = [_("Score every criterion before submitting.")]
    out_comments = {k: str(v or "").strip()[:5000] for k, v in (comments or {}).items() if k in criteria and v}
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), fields=errors)
    return out_scores, out_comments


@transactional
def save_review(reviewer, assignment: Assignment, *, scores: dict, comments: dict, overall_comment: str,
                submit: bool) -> Review | None:  # fmt: skip
    """Save the draft or submit it. None when a conflict was found on the way (the assignment is
    then conflicted and nothing was saved)."""
    _own(reviewer, assignment)
    lock(assignment)
    if assignment.status == AssignmentStatus.PENDING:
        raise Conflict(_("Declare whether you have a conflict of interest first."), code="declaration_required")
    if assignment.status == AssignmentStatus.CONFLICTED:
        raise Conflict(_("You declared a conflict of interest for this application."), code="conflicted")
    review = assignment.review
    if assignment.status == AssignmentStatus.SUBMITTED or (review is not None and review.submitted_at is not None):
        raise Conflict(_("The review is submitted and locked. A manager can reopen it."), code="review_locked")
    if recheck_conflict(reviewer, assignment, locked=True):
        return None
    clean_scores, clean_comments = clean_review(assignment.application.call, scores, comments, complete=submit)
    if review is None:
        review = Review(assignment_id=assignment.id)
        db.session.add(review)
    review.scores, review.comments = clean_scores, clean_comments
    review.overall_comment, review.saved_at = (overall_comment or "").strip()[:10000], clock.now()
    if submit:
        review.submitted_at = clock.now()
        lifecycle.transition_assignment(assignment, "submit", reviewer, locked=True)
    return review


@transactional
def reopen(actor, assignment: Assignment, reason: str) -> None:
    if not (reason or "").strip():
        raise ValidationFailed(_("Give the reason for reopening."), fields={"reason": [_("A reason is required.")]})
    lock(assignment)
    if assignment.review is None or assignment.review.submitted_at is None:
        raise Conflict(_("This review is not submitted."), code="not_submitted")
    assignment.review.submitted_at = None
    lifecycle.transition_assignment(assignment, "reopen", actor, locked=True, reason=reason.strip()[:2000])
