"""Assigning reviewers: automatically (conflict-free, balanced), by hand, and a replacement when a
reviewer turns out to have a conflict. The plan itself is the pure function in `assignment`."""

from __future__ import annotations

from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select

from .. import mail
from ..accounts.models import Role, User
from ..applications import lifecycle as app_lifecycle
from ..applications.models import Application
from ..audit.services import record
from ..calls import lifecycle as call_lifecycle
from ..calls.models import Call
from ..core import clock
from ..core.db import transactional
from ..core.errors import Conflict, ValidationFailed
from ..core.urls import external_url
from ..extensions import db
from . import assignment as planner
from . import lifecycle
from .eligibility import REVIEW_STAGE, require_stage
from .lifecycle import AssignmentStatus, lock
from .models import Assignment
from .pool import excluded, reviewers

ASSIGNABLE = (app_lifecycle.Status.ELIGIBLE, app_lifecycle.Status.IN_REVIEW)


@transactional
def auto_assign(actor, call: Call) -> planner.Plan:
    """Assign reviewers_per_application to every eligible application, conflict-free and
    balanced; report what could not be assigned. Starts the review stage."""
    lock(call)  # two managers pressing "assign" at once: the second plans on the first's result
    require_stage(call, *REVIEW_STAGE)
    apps = list(db.session.execute(select(Application).where(Application.call_id == call.id,
                                                             Application.status.in_(ASSIGNABLE))
                                   .order_by(Application.id).with_for_update(of=Application)
                                   .execution_options(populate_existing=True)).scalars())  # fmt: skip
    if not apps:
        raise ValidationFailed(_("No eligible applications yet: confirm eligibility first."), code="nothing_to_assign")
    existing = list(
        db.session.execute(select(Assignment).where(Assignment.application_id.in_([a.id for a in apps]))).scalars()
    )
    pool_users = reviewers()
    exclusions = excluded([u.id for u in pool_users])
    loads: dict[int, int] = {}
    for a in existing:
        if a.status in lifecycle.ACTIVE:
            loads[a.reviewer_id] = loads.get(a.reviewer_id, 0) + 1
    needs = []
    for app in apps:
        mine = [a for a in existing if a.application_id == app.id]
        active = sum(1 for a in mine if a.status in lifecycle.ACTIVE)
        needs.append(planner.Need(app.id, frozenset(app.consortium.member_ids()), frozenset(a.reviewer_id for a in mine),
                                  call.reviewers_per_application - active))  # fmt: skip
    pool = [planner.Pool(u.id, exclusions[u.id], loads.get(u.id, 0)) for u in pool_users]
    result = planner.plan(needs, pool)
    seats: dict[int, int] = {}
    for a in existing:
        seats[a.application_id] = max(seats.get(a.application_id, 0), a.seat)
    due = clock.now() + timedelta(days=call.review_days)
    for app_id, reviewer_id in result.pairs:
        seats[app_id] = seats.get(app_id, 0) + 1
        db.session.add(Assignment(application_id=app_id, reviewer_id=reviewer_id, seat=seats[app_id], due_at=due))
    for app in apps:
        if app.status == app_lifecycle.Status.ELIGIBLE:
            app_lifecycle.transition(app, app_lifecycle.Status.IN_REVIEW, actor, locked=True)  # locked above
    if call_lifecycle.effective_status(call) == call_lifecycle.Status.CLOSED:
        call_lifecycle.transition(call, call_lifecycle.Status.IN_REVIEW, actor, locked=True)
    record(actor, "review.assigned", "call", call.id,
           after={"assigned": len(result.pairs), "unassigned": result.unassigned})  # fmt: skip
    notify_reviewers({rid for _a, rid in result.pairs}, call)
    return result


def notify_reviewers(reviewer_ids: set[int], call: Call) -> None:
    """Emails go out once the unit of work commits (mail.send queues them after the commit)."""
    if not reviewer_ids:
        return
    for user in db.session.execute(select(User).where(User.id.in_(reviewer_ids))).scalars():
        mail.send(user.email, "review_assigned", user.locale, call=call, link=external_url("reviews.mine"))


@transactional
def reassign(actor, assignment: Assignment, reviewer_id: int) -> Assignment:
    """Manual reassignment by a manager, with the same conflict rules. The old seat closes
    (conflicted) and the new reviewer takes the same seat."""
    reviewer = db.session.get(User, reviewer_id) if 0 < (reviewer_id or 0) <= 2**31 - 1 else None
    if reviewer is None or Role.REVIEWER not in reviewer.roles:
        raise ValidationFailed(
            _("Choose a reviewer from the pool."), fields={"reviewer_id": [_("Not a valid choice.")]}
        )
    lock(assignment)
    app = assignment.application
    if excluded([reviewer.id])[reviewer.id] & set(app.consortium.member_ids()):
        raise Conflict(_("This reviewer has a conflict of interest with this consortium."), code="conflict_of_interest")
    if db.session.execute(select(Assignment.id).filter_by(application_id=app.id, reviewer_id=reviewer.id)).first():
        raise Conflict(_("This reviewer is already assigned to this application."), code="already_assigned")
    if assignment.status == AssignmentStatus.SUBMITTED or (assignment.review and assignment.review.submitted_at):
        raise Conflict(_("A submitted review cannot be moved."), code="review_submitted")
    if _seat_taken(assignment):
        raise Conflict(_("This seat already has another reviewer."), code="seat_taken")
    before = assignment.reviewer_id
    if assignment.status != AssignmentStatus.CONFLICTED:
        lifecycle.transition_assignment(assignment, "reassign", actor, locked=True, reviewer=reviewer.id)
    new = Assignment(application_id=app.id, reviewer_id=reviewer.id, seat=assignment.seat, due_at=assignment.due_at)
    db.session.add(new)
    record(
        actor, "review.reassigned", "application", app.id, before={"reviewer": before}, after={"reviewer": reviewer.id}
    )
    notify_reviewers({reviewer.id}, app.call)
    return new


def _seat_taken(assignment: Assignment) -> bool:
    """Another active assignment already holds this seat of the application."""
    return db.session.execute(select(Assignment.id).where(
        Assignment.application_id == assignment.application_id, Assignment.seat == assignment.seat,
        Assignment.id != assignment.id, Assignment.status.in_(tuple(lifecycle.ACTIVE)))).first() is not None  # fmt: skip


def replace(conflicted: Assignment) -> Assignment | None:
    """Give a conflicted seat to the least-loaded reviewer without a conflict, if there is one;
    otherwise the stage page asks the manager to reassign it."""
    app = conflicted.application
    taken = set(db.session.execute(select(Assignment.reviewer_id).filter_by(application_id=app.id)).scalars())
    pool = [u for u in reviewers() if u.id not in taken]
    if not pool:
        return None
    exclusions = excluded([u.id for u in pool])
    loads = dict(db.session.execute(select(Assignment.reviewer_id, func.count()).where(
        Assignment.status.in_(tuple(lifecycle.ACTIVE))).group_by(Assignment.reviewer_id)).all())  # fmt: skip
    plan = planner.plan([planner.Need(app.id, frozenset(app.consortium.member_ids()), frozenset(taken), 1)],
                        [planner.Pool(u.id, exclusions[u.id], loads.get(u.id, 0)) for u in pool])  # fmt: skip
    new = None
    for app_id, reviewer_id in plan.pairs:
        new = Assignment(application_id=app_id, reviewer_id=reviewer_id, seat=conflicted.seat, due_at=conflicted.due_at)
        db.session.add(new)
    notify_reviewers({rid for _a, rid in plan.pairs}, app.call)
    return new


def assignments_of_call(call: Call) -> list[Assignment]:
    return list(db.session.execute(select(Assignment).join(Application, Application.id == Assignment.application_id)
                                   .where(Application.call_id == call.id, Assignment.status == AssignmentStatus.PENDING)
                                   .order_by(Assignment.id)).scalars())  # fmt: skip


def assignments_of(user) -> list[Assignment]:
    return list(db.session.execute(select(Assignment).where(Assignment.reviewer_id == user.id)
                                   .order_by(Assignment.due_at, Assignment.id)).scalars())  # fmt: skip


def seats_to_reassign(assignments: list[Assignment]) -> set[int]:
    """Ids of conflicted assignments whose seat nobody holds any more: the manager must reassign
    them (shown on the stage page). Computed from the list the page already has, no query."""
    held = {(a.application_id, a.seat) for a in assignments if a.status in lifecycle.ACTIVE}
    return {a.id for a in assignments
            if a.status == AssignmentStatus.CONFLICTED and (a.application_id, a.seat) not in held}  # fmt: skip
