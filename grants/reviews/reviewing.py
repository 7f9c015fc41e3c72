"""The reviewer's work: the declaration (pledge, conflict of interest), scoring, submitting, a
manager reopening a submitted review, and the conflict re-check on every open, declare and save."""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from flask_babel import gettext as _
from sqlalchemy import select

from ..calls.models import Call
from ..core import clock
from ..core.db import transactional
from ..core.errors import Conflict, Forbidden, ValidationFailed
from ..extensions import db
from . import lifecycle, scoring
from .assigning import replace
from .lifecycle import AssignmentStatus, lock
from .models import Assignment, Review, ReviewerConflict
from .pool import excluded
from .ranking import rules_of, store_total


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
        db.session.add(
            ReviewerConflict(user_id=reviewer.id, organization_id=lead_id, reason=assignment.conflict_reason)
        )
    lifecycle.transition_assignment(assignment, "declare_conflict", reviewer, locked=True)
    db.session.flush()
    replace(assignment)
    return assignment


# A score typed in the form: digits, then at most two decimals after a point or a comma ("7", "7.5",
# "7,25"). Anything else ("1,234", "7.5.1", "1/2", "1e1") is refused rather than read as something
# the reviewer did not mean. review.js accepts exactly the same texts.
SCORE_TEXT = re.compile(r"([0-9]{1,6})(?:[.,]([0-9]{1,2}))?")


def parse_score(value) -> Fraction:
    """The exact value of a score as typed (text) or sent (a JSON number); ValueError otherwise."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(value)
    if isinstance(value, str):
        match = SCORE_TEXT.fullmatch(value.strip())
        if match is None:
            raise ValueError(value)
        whole, decimals = match.groups()
        return Fraction(int(whole + (decimals or "")), 10 ** len(decimals or ""))
    number = Fraction(str(value))  # a JSON number: its shortest decimal text, exactly
    return number


def stored_score(number: Fraction) -> int | float:
    """How a score is kept in the review (JSON): a whole number as an integer, else a float."""
    return int(number) if number.denominator == 1 else float(number)


def clean_review(call: Call, scores: dict, comments: dict, *, complete: bool) -> tuple[dict, dict]:
    criteria = {c.key: c for c in call.criteria}
    errors: dict[str, list[str]] = {}
    out_scores: dict[str, float] = {}
    for key, value in (scores or {}).items():
        if key not in criteria:
            errors[f"scores.{key}"] = [_("Unknown criterion.")]
            continue
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        try:
            number = parse_score(value)
        except (ValueError, ZeroDivisionError, OverflowError):
            errors[f"scores.{key}"] = [_("Enter a number such as 7 or 7.5 (7,5 is read the same).")]
            continue
        if not 0 <= number <= criteria[key].max_score:
            errors[f"scores.{key}"] = [_("The score must be from 0 to %(max)d.", max=criteria[key].max_score)]
            continue
        out_scores[key] = stored_score(number)
    if complete:
        for key in criteria:
            if key not in out_scores and f"scores.{key}" not in errors:
                errors[f"scores.{key}"] = [_("Score every criterion before submitting.")]
    out_comments = {k: str(v or "").strip()[:5000] for k, v in (comments or {}).items() if k in criteria and v}
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), fields=errors)
    return out_scores, out_comments


@dataclass(frozen=True)
class RunningTotal:
    """The reviewer's weighted total so far: T over the criteria scored (the ranking's own formula,
    `scoring.reviewer_total`), shown with the ranking's rounding (`scoring.shown`)."""

    value: Fraction | None
    scored: int
    criteria: int

    @property
    def complete(self) -> bool:
        return self.scored == self.criteria


def running_total(call: Call, scores: dict) -> RunningTotal:
    """From stored scores or from the form's texts; a score that is not valid (yet) is left out,
    exactly as review.js leaves it out while the reviewer types."""
    criteria = rules_of(call).criteria
    given: dict[str, int | float] = {}
    for criterion in criteria:
        value = (scores or {}).get(criterion.key)
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        try:
            number = parse_score(value)
        except (ValueError, ZeroDivisionError, OverflowError):
            continue
        if 0 <= number <= criterion.max_score:
            given[criterion.key] = stored_score(number)
    scored = tuple(c for c in criteria if c.key in given)
    value = scoring.reviewer_total(given, scored) if scored else None
    return RunningTotal(value, len(scored), len(criteria))


def parse_conflict_answer(value) -> bool:
    """The declaration's answer: "yes" (a conflict) or "no"; nothing chosen is refused, so that
    no answer is ever taken for "no conflict"."""
    if value == "yes":
        return True
    if value == "no":
        return False
    raise ValidationFailed(_("Choose whether you have a conflict of interest with these organizations."),
                           fields={"conflict": [_("Choose one of the two answers.")]})  # fmt: skip


@transactional
def save_review(reviewer, assignment: Assignment, *, scores: dict, comments: dict, overall_comment: str,
                submit: bool, check_complete: bool = False) -> Review | None:  # fmt: skip
    """Save the draft or submit it. None when a conflict was found on the way (the assignment is
    then conflicted and nothing was saved). `check_complete` checks a draft as a submission would
    be checked (every criterion scored) but keeps it a draft: the step before the confirmation."""
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
    clean_scores, clean_comments = clean_review(
        assignment.application.call, scores, comments, complete=submit or check_complete
    )
    if review is None:
        review = Review(assignment_id=assignment.id)
        db.session.add(review)
    review.scores, review.comments = clean_scores, clean_comments
    review.overall_comment, review.saved_at = (overall_comment or "").strip()[:10000], clock.now()
    if submit:
        review.submitted_at = clock.now()
        store_total(review, assignment.application.call)
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
    store_total(assignment.review, assignment.application.call)
    lifecycle.transition_assignment(assignment, "reopen", actor, locked=True, reason=reason.strip()[:2000])
