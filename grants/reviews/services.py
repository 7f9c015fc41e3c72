"""Eligibility, reviewer pool, assignment, reviewing, ranking, decisions and appeals.
Every write and status change of the review stage lives here; views and the API call it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from fractions import Fraction

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from .. import mail
from ..accounts.models import Role, User
from ..applications import lifecycle as app_lifecycle
from ..applications.models import Application
from ..audit.services import record
from ..calls import lifecycle as call_lifecycle
from ..calls.models import Call
from ..consortia.models import Consortium, ConsortiumMember
from ..core import clock
from ..core.errors import Conflict, Forbidden, ServiceError, ValidationFailed
from ..core.urls import external_url
from ..extensions import db
from ..organizations.models import Membership, Organization
from ..security import new_token, token_hash
from . import assignment as planner
from . import scoring
from .models import (
    Assignment,
    Decision,
    Review,
    ReviewerAffiliation,
    ReviewerConflict,
    ReviewerInvitation,
    ReviewerProfile,
)

REVIEW_STAGE = ("closed", "in_review")


def _require_stage(call: Call, *stages) -> None:
    if call_lifecycle.effective_status(call) not in stages:
        raise Conflict(_("This is not possible while the call is %(status)s.", status=call_lifecycle.label(call)),
                       code="wrong_stage")  # fmt: skip


# --- eligibility ---------------------------------------------------------------------------


def checks(app: Application) -> list[tuple[str, bool, str]]:
    """Automatic eligibility checks shown to the manager: (name, passed, detail)."""
    call = app.call
    lead = app.consortium.lead
    regions = call.regions
    count = len(app.consortium.members)
    return [
        ("region", not regions or lead.region in regions, lead.region),
        ("consortium_size", call.consortium_min_members <= count <= call.consortium_max_members, str(count)),
        ("budget", call.min_amount <= app.requested_amount <= call.max_amount and app.budget_total == app.requested_amount,
         str(app.requested_amount)),
        ("partners_confirmed", app.consortium.all_confirmed, ""),
    ]  # fmt: skip


def set_eligibility(actor, app: Application, *, eligible: bool, reason: str) -> Application:
    """A manager confirms eligible or ineligible (after closing, before review), with a reason."""
    _require_stage(app.call, *REVIEW_STAGE)
    reason = (reason or "").strip()
    if not eligible and not reason:
        raise ValidationFailed(_("Give the reason why the application is not eligible."),
                               fields={"reason": [_("A reason is required.")]})  # fmt: skip
    target = "eligible" if eligible else "ineligible"
    if app.status == target:
        app.eligibility_reason = reason or app.eligibility_reason
    else:
        app_lifecycle.transition(app, target, actor, reason=reason)
        app.eligibility_reason = reason
    db.session.commit()
    return app


# --- reviewer pool --------------------------------------------------------------------------


def invite_reviewer(actor, email: str) -> ReviewerInvitation:
    from ..accounts.services import check_email

    email = check_email(email)
    token, hashed = new_token()
    invitation = ReviewerInvitation(email=email, token_hash=hashed, invited_by_id=actor.id,
                                    expires_at=clock.now() + timedelta(days=30))  # fmt: skip
    db.session.add(invitation)
    db.session.flush()
    user = db.session.execute(select(User).filter_by(email=email)).scalar_one_or_none()
    mail.send(email, "reviewer_invitation", user.locale if user else actor.locale, inviter=actor,
              link=external_url("reviews.accept_invitation", token=token))  # fmt: skip
    record(actor, "reviewer.invited", "reviewer_invitation", invitation.id, after={"email": email})
    db.session.commit()
    return invitation


def accept_invitation(user, token: str) -> None:
    invitation = db.session.execute(
        select(ReviewerInvitation).filter_by(token_hash=token_hash(token or ""))
    ).scalar_one_or_none()
    if invitation is None or invitation.expires_at < clock.now():
        raise ServiceError(_("This link is not valid or has expired. Please ask for a new one."), code="invalid_token")
    if invitation.accepted_at is not None:
        raise Conflict(_("This link has already been used."), code="token_used")
    if invitation.email != user.email:
        raise ServiceError(_("This invitation was sent to %(email)s. Log in with that address to accept it.",
                             email=invitation.email), code="wrong_account")  # fmt: skip
    invitation.accepted_at = clock.now()
    user.roles = set(user.roles) | {Role.REVIEWER}
    if db.session.get(ReviewerProfile, user.id) is None:
        db.session.add(ReviewerProfile(user_id=user.id, regions=[]))
    record(user, "reviewer.joined", "user", user.id)
    db.session.commit()


def set_profile(user, *, affiliations, conflicts: dict, regions, expertise: str) -> None:
    """Affiliations and declared conflicts (organization ids) keep the reviewer away from
    those organizations' applications."""
    from ..organizations.reference import REGIONS

    ids = {int(i) for i in affiliations or [] if str(i).isdigit()} | {
        int(i) for i in conflicts or {} if str(i).isdigit()
    }
    known = set(db.session.execute(select(Organization.id).where(Organization.id.in_(ids))).scalars()) if ids else set()
    if ids - known:
        raise ValidationFailed(_("Some of the chosen organizations do not exist."),
                               fields={"affiliations": [_("Not a valid choice.")]})  # fmt: skip
    bad_regions = set(regions or []) - set(REGIONS)
    if bad_regions:
        raise ValidationFailed(_("Choose a region from the list."), fields={"regions": [_("Not a valid choice.")]})
    profile = db.session.get(ReviewerProfile, user.id) or ReviewerProfile(user_id=user.id)
    profile.regions, profile.expertise, profile.updated_at = (
        sorted(set(regions or [])),
        (expertise or "")[:3000],
        clock.now(),
    )
    db.session.add(profile)
    db.session.execute(ReviewerAffiliation.__table__.delete().where(ReviewerAffiliation.user_id == user.id))
    db.session.execute(ReviewerConflict.__table__.delete().where(ReviewerConflict.user_id == user.id))
    for org_id in sorted({int(i) for i in affiliations or [] if str(i).isdigit()}):
        db.session.add(ReviewerAffiliation(user_id=user.id, organization_id=org_id))
    for org_id, reason in sorted((conflicts or {}).items()):
        if str(org_id).isdigit():
            db.session.add(ReviewerConflict(user_id=user.id, organization_id=int(org_id), reason=(reason or "")[:1000]))
    record(user, "reviewer.profile_updated", "user", user.id,
           after={"affiliations": sorted(affiliations or []), "conflicts": sorted(map(str, conflicts or {}))})  # fmt: skip
    db.session.commit()


def reviewers() -> list[User]:
    return [u for u in db.session.execute(select(User).where(User.roles_text.like("%reviewer%")).order_by(User.id)).scalars()
            if Role.REVIEWER in u.roles and u.is_active]  # fmt: skip


def _excluded(reviewer_ids: list[int]) -> dict[int, frozenset[int]]:
    """Organizations each reviewer must never review: affiliations, declared conflicts and
    their own memberships. Three queries, whatever the pool size."""
    from sqlalchemy import union_all

    rows = db.session.execute(union_all(
        select(ReviewerAffiliation.user_id, ReviewerAffiliation.organization_id).where(
            ReviewerAffiliation.user_id.in_(reviewer_ids)),
        select(ReviewerConflict.user_id, ReviewerConflict.organization_id).where(ReviewerConflict.user_id.in_(reviewer_ids)),
        select(Membership.user_id, Membership.organization_id).where(Membership.user_id.in_(reviewer_ids)),
    )).all()  # fmt: skip
    out: dict[int, set[int]] = {rid: set() for rid in reviewer_ids}
    for user_id, org_id in rows:
        out[user_id].add(org_id)
    return {rid: frozenset(orgs) for rid, orgs in out.items()}


# --- assignment -----------------------------------------------------------------------------


def auto_assign(actor, call: Call) -> planner.Plan:
    """Assign reviewers_per_application to every eligible application, conflict-free and
    balanced; report what could not be assigned. Starts the review stage."""
    _require_stage(call, *REVIEW_STAGE)
    apps = list(db.session.execute(select(Application).where(Application.call_id == call.id,
                                                             Application.status.in_(("eligible", "in_review")))
                                   .order_by(Application.id)).scalars())  # fmt: skip
    if not apps:
        raise ValidationFailed(_("No eligible applications yet: confirm eligibility first."), code="nothing_to_assign")
    existing = list(
        db.session.execute(select(Assignment).where(Assignment.application_id.in_([a.id for a in apps]))).scalars()
    )
    pool_users = reviewers()
    excluded = _excluded([u.id for u in pool_users])
    loads: dict[int, int] = {}
    for a in existing:
        if a.status != "conflicted":
            loads[a.reviewer_id] = loads.get(a.reviewer_id, 0) + 1
    needs = []
    for app in apps:
        mine = [a for a in existing if a.application_id == app.id]
        active = sum(1 for a in mine if a.status != "conflicted")
        needs.append(planner.Need(app.id, frozenset(app.consortium.member_ids()), frozenset(a.reviewer_id for a in mine),
                                  call.reviewers_per_application - active))  # fmt: skip
    pool = [planner.Pool(u.id, excluded[u.id], loads.get(u.id, 0)) for u in pool_users]
    result = planner.plan(needs, pool)
    seats: dict[int, int] = {}
    for a in existing:
        seats[a.application_id] = max(seats.get(a.application_id, 0), a.seat)
    due = clock.now() + timedelta(days=call.review_days)
    for app_id, reviewer_id in result.pairs:
        seats[app_id] = seats.get(app_id, 0) + 1
        db.session.add(Assignment(application_id=app_id, reviewer_id=reviewer_id, seat=seats[app_id], due_at=due))
    for app in apps:
        if app.status == "eligible":
            app_lifecycle.transition(app, "in_review", actor)
    if call_lifecycle.effective_status(call) == "closed":
        call_lifecycle.transition(call, call_lifecycle.Status.IN_REVIEW, actor)
    record(actor, "review.assigned", "call", call.id,
           after={"assigned": len(result.pairs), "unassigned": result.unassigned})  # fmt: skip
    db.session.commit()
    _notify_reviewers({rid for _a, rid in result.pairs}, call)
    return result


def _notify_reviewers(reviewer_ids: set[int], call: Call) -> None:
    if not reviewer_ids:
        return
    for user in db.session.execute(select(User).where(User.id.in_(reviewer_ids))).scalars():
        mail.send(user.email, "review_assigned", user.locale, call=call, link=external_url("reviews.mine"))
    db.session.commit()


def reassign(actor, assignment: Assignment, reviewer_id: int) -> Assignment:
    """Manual reassignment by a manager, with the same conflict rules."""
    reviewer = db.session.get(User, reviewer_id)
    if reviewer is None or Role.REVIEWER not in reviewer.roles:
        raise ValidationFailed(
            _("Choose a reviewer from the pool."), fields={"reviewer_id": [_("Not a valid choice.")]}
        )
    app = assignment.application
    if _excluded([reviewer.id])[reviewer.id] & set(app.consortium.member_ids()):
        raise Conflict(_("This reviewer has a conflict of interest with this consortium."), code="conflict_of_interest")
    if db.session.execute(select(Assignment.id).filter_by(application_id=app.id, reviewer_id=reviewer.id)).first():
        raise Conflict(_("This reviewer is already assigned to this application."), code="already_assigned")
    if assignment.review and assignment.review.submitted_at:
        raise Conflict(_("A submitted review cannot be moved."), code="review_submitted")
    before = assignment.reviewer_id
    assignment.status = "conflicted" if assignment.status != "conflicted" else assignment.status
    new = Assignment(application_id=app.id, reviewer_id=reviewer.id, seat=assignment.seat, due_at=assignment.due_at)
    db.session.add(new)
    record(
        actor, "review.reassigned", "application", app.id, before={"reviewer": before}, after={"reviewer": reviewer.id}
    )
    db.session.commit()
    _notify_reviewers({reviewer.id}, app.call)
    return new


# --- reviewing ---------------------------------------------------------------------------------


def _own(reviewer, assignment: Assignment) -> None:
    if assignment.reviewer_id != reviewer.id:
        raise Forbidden(_("This is not your assignment."))


def declare(reviewer, assignment: Assignment, *, conflict: bool, reason: str = "", pledge: bool = True) -> Assignment:
    """Before the content opens: the confidentiality pledge and a conflict declaration. A
    conflict returns the assignment for reassignment (to the next least-loaded reviewer)."""
    _own(reviewer, assignment)
    if assignment.status != "pending":
        raise Conflict(_("You have already answered for this assignment."), code="already_declared")
    if not conflict and not pledge:
        raise ValidationFailed(_("Accept the confidentiality pledge to open the application."),
                               fields={"pledge": [_("Required.")]})  # fmt: skip
    now = clock.now()
    assignment.declared_at = now
    if conflict:
        assignment.status, assignment.conflict_reason = "conflicted", (reason or "").strip()[:2000]
        lead_id = assignment.application.consortium.lead_organization_id
        if db.session.get(ReviewerConflict, (reviewer.id, lead_id)) is None:
            db.session.add(
                ReviewerConflict(user_id=reviewer.id, organization_id=lead_id, reason=assignment.conflict_reason)
            )
        record(reviewer, "review.conflict_declared", "application", assignment.application_id,
               after={"seat": assignment.seat})  # fmt: skip
        db.session.commit()
        _replace(assignment)
    else:
        assignment.status, assignment.pledge_accepted_at = "declared", now
        record(reviewer, "review.no_conflict_declared", "application", assignment.application_id,
               after={"seat": assignment.seat})  # fmt: skip
        db.session.commit()
    return assignment


def _replace(conflicted: Assignment) -> None:
    app = conflicted.application
    taken = set(db.session.execute(select(Assignment.reviewer_id).filter_by(application_id=app.id)).scalars())
    pool = [u for u in reviewers() if u.id not in taken]
    if not pool:
        return
    excluded = _excluded([u.id for u in pool])
    loads = dict(db.session.execute(select(Assignment.reviewer_id, func.count()).where(
        Assignment.status != "conflicted").group_by(Assignment.reviewer_id)).all())  # fmt: skip
    plan = planner.plan([planner.Need(app.id, frozenset(app.consortium.member_ids()), frozenset(taken), 1)],
                        [planner.Pool(u.id, excluded[u.id], loads.get(u.id, 0)) for u in pool])  # fmt: skip
    for app_id, reviewer_id in plan.pairs:
        db.session.add(Assignment(application_id=app_id, reviewer_id=reviewer_id, seat=conflicted.seat,
                                  due_at=conflicted.due_at))  # fmt: skip
    db.session.commit()
    _notify_reviewers({rid for _a, rid in plan.pairs}, app.call)


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
        try:
            number = Fraction(str(value).replace(",", "."))
        except (ValueError, ZeroDivisionError):
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


def save_review(reviewer, assignment: Assignment, *, scores: dict, comments: dict, overall_comment: str,
                submit: bool) -> Review:  # fmt: skip
    _own(reviewer, assignment)
    if assignment.status == "pending":
        raise Conflict(_("Declare whether you have a conflict of interest first."), code="declaration_required")
    if assignment.status == "conflicted":
        raise Conflict(_("You declared a conflict of interest for this application."), code="conflicted")
    review = assignment.review
    if review is not None and review.submitted_at is not None:
        raise Conflict(_("The review is submitted and locked. A manager can reopen it."), code="review_locked")
    clean_scores, clean_comments = clean_review(assignment.application.call, scores, comments, complete=submit)
    if review is None:
        review = Review(assignment_id=assignment.id)
        db.session.add(review)
    review.scores, review.comments = clean_scores, clean_comments
    review.overall_comment, review.saved_at = (overall_comment or "").strip()[:10000], clock.now()
    if submit:
        review.submitted_at = clock.now()
        assignment.status = "submitted"
        record(reviewer, "review.submitted", "application", assignment.application_id, after={"seat": assignment.seat})
    db.session.commit()
    return review


def reopen(actor, assignment: Assignment, reason: str) -> None:
    if not (reason or "").strip():
        raise ValidationFailed(_("Give the reason for reopening."), fields={"reason": [_("A reason is required.")]})
    if assignment.review is None or assignment.review.submitted_at is None:
        raise Conflict(_("This review is not submitted."), code="not_submitted")
    assignment.review.submitted_at = None
    assignment.status = "declared"
    record(actor, "review.reopened", "application", assignment.application_id,
           after={"seat": assignment.seat, "reason": reason.strip()[:2000]})  # fmt: skip
    db.session.commit()


def assignments_of_call(call: Call) -> list[Assignment]:
    return list(db.session.execute(select(Assignment).join(Application, Application.id == Assignment.application_id)
                                   .where(Application.call_id == call.id, Assignment.status == "pending")
                                   .order_by(Assignment.id)).scalars())  # fmt: skip


def assignments_of(user) -> list[Assignment]:
    return list(db.session.execute(select(Assignment).where(Assignment.reviewer_id == user.id)
                                   .order_by(Assignment.due_at, Assignment.id)).scalars())  # fmt: skip


# --- ranking -------------------------------------------------------------------------------------


def rules_of(call: Call) -> scoring.Rules:
    return scoring.Rules(
        criteria=tuple(scoring.Criterion(c.key, c.weight, c.max_score) for c in call.criteria),
        reviewers_per_application=call.reviewers_per_application,
        quality_threshold=Fraction(str(call.quality_threshold)),
        divergence_threshold=Fraction(str(call.divergence_threshold)),
        priority=scoring.Priority(call.women_led_points, call.youth_led_points, call.rural_points, call.newcomer_points,
                                  call.priority_cap, call.priority_basis),
        envelope=call.envelope, max_awards=call.max_awards, max_awards_per_consortium=call.max_awards_per_consortium,
        max_consortia=call.max_consortia,
    )  # fmt: skip


RANKED_STATUSES = ("eligible", "ineligible", "in_review", "reviewed", "awarded", "reserve", "rejected")


@dataclass(frozen=True)
class RankedApplication:
    """What the ranking screen shows of an application (plain columns, no ORM objects)."""

    id: int
    number: int | None
    title: str
    status: str
    consortium_id: int
    consortium_name: str


def ranking(call: Call) -> tuple[scoring.Outcome, dict[int, RankedApplication]]:
    """The ranking screen's computation: four column queries, whatever the size."""
    rows = db.session.execute(
        select(Application.id, Application.number, Application.title, Application.status, Application.consortium_id,
               Consortium.name, Application.requested_amount, Application.submitted_at)
        .join(Consortium, Consortium.id == Application.consortium_id)
        .where(Application.call_id == call.id, Application.status.in_(RANKED_STATUSES))
    ).all()  # fmt: skip
    apps = {r[0]: RankedApplication(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows}
    reviews: dict[int, list[dict]] = {}
    for app_id, scores in db.session.execute(
        select(Assignment.application_id, Review.scores).join(Review, Review.assignment_id == Assignment.id)
        .join(Application, Application.id == Assignment.application_id)
        .where(Application.call_id == call.id, Review.submitted_at.is_not(None)).order_by(Assignment.seat)
    ).all():  # fmt: skip
        reviews.setdefault(app_id, []).append(scores)
    members: dict[int, list[scoring.Member]] = {}
    funded_before = select(ConsortiumMember.organization_id).join(
        Application, Application.consortium_id == ConsortiumMember.consortium_id).join(
        Decision, Decision.application_id == Application.id).where(Decision.outcome == "award",
                                                                  Application.call_id != call.id)  # fmt: skip
    consortium_ids = select(Application.consortium_id).where(Application.call_id == call.id)
    for consortium_id, role, org_id, women, youth, settlement, before in db.session.execute(
        select(ConsortiumMember.consortium_id, ConsortiumMember.role, Organization.id, Organization.women_led_verified,
               Organization.youth_led_verified, Organization.settlement, Organization.id.in_(funded_before))
        .join(Organization, Organization.id == ConsortiumMember.organization_id)
        .where(ConsortiumMember.consortium_id.in_(consortium_ids))
    ).all():  # fmt: skip
        members.setdefault(consortium_id, []).append(
            scoring.Member(org_id, role == "lead", women, youth, settlement == "rural", bool(before))
        )
    candidates = [
        scoring.Candidate(r[0], r[4], r[6], r[7], r[3] != "ineligible", tuple(reviews.get(r[0], [])),
                          tuple(members.get(r[4], [])))
        for r in rows
    ]  # fmt: skip
    return scoring.evaluate(candidates, rules_of(call)), apps


# --- decisions ------------------------------------------------------------------------------------


def computed_outcome(item: scoring.Scored) -> str:
    if item.selected:
        return "award"
    return "reserve" if item.reserve else "reject"


def _explanation(call: Call, item: scoring.Scored) -> dict:
    """What the applicant reads: per-criterion scores by reviewer seat, totals, merit,
    priority with its reasons, final, rank, and the reviewers' comments (anonymised)."""
    rows = db.session.execute(
        select(Assignment.seat, Review.scores, Review.comments, Review.overall_comment)
        .join(Review, Review.assignment_id == Assignment.id)
        .where(Assignment.application_id == item.application_id, Review.submitted_at.is_not(None))
        .order_by(Assignment.seat)
    ).all()  # fmt: skip
    return {
        "criteria": [{"key": c.key, "weight": c.weight, "max_score": c.max_score,
                      "title": {lang: getattr(c, f"title_{lang}") for lang in ("kk", "ru", "en")}} for c in call.criteria],
        "reviews": [{"seat": seat, "scores": scores, "comments": comments, "overall": overall}
                    for seat, scores, comments, overall in rows],
        "totals": [scoring.shown(t) for t in item.totals], "merit": scoring.shown(item.merit),
        "priority": scoring.shown(item.priority), "priority_reasons": item.priority_reasons,
        "final": scoring.shown(item.final), "rank": item.rank, "flags": item.flags, "reason": item.reason,
        "quality_threshold": scoring.shown(Fraction(str(call.quality_threshold))),
    }  # fmt: skip


def decide(actor, call: Call, decisions: list[dict] | None = None, *, apply_selection: bool = False) -> list[Decision]:
    """Record decisions. `apply_selection` decides every ranked application as computed;
    otherwise each {application_id, outcome, justification}. A decision against the selection
    needs a written justification (shown publicly). Two managers at once: one wins, the other
    gets 409 and nothing of theirs is saved."""
    _require_stage(call, "in_review", "decided")
    outcome, apps = ranking(call)
    by_id = {item.application_id: item for item in outcome.items}
    wanted: list[tuple[int, str, str]] = []
    if apply_selection:
        wanted = [(item.application_id, computed_outcome(item), "") for item in outcome.items if item.eligible]
    else:
        errors: dict[str, list[str]] = {}
        for i, row in enumerate(decisions or []):
            try:
                app_id = int(row.get("application_id"))
            except (TypeError, ValueError):
                app_id = None
            result = row.get("outcome")
            if app_id not in by_id:
                errors[f"decisions.{i}.application_id"] = [_("Not an application of this call.")]
                continue
            if result not in ("award", "reserve", "reject"):
                errors[f"decisions.{i}.outcome"] = [_("Choose award, reserve or reject.")]
                continue
            justification = str(row.get("justification") or "").strip()
            if result != computed_outcome(by_id[app_id]) and not justification:
                errors[f"decisions.{i}.justification"] = [_("A decision against the selection needs a written justification, which will be public.")]  # fmt: skip
            wanted.append((app_id, result, justification))
        if not wanted and not errors:
            errors["decisions"] = [_("Nothing to decide.")]
        if errors:
            raise ValidationFailed(_("Please correct the marked fields."), fields=errors)
    existing = {d.application_id: d for d in db.session.execute(
        select(Decision).where(Decision.application_id.in_([w[0] for w in wanted]))).scalars()}  # fmt: skip
    apps = {a.id: a for a in db.session.execute(
        select(Application).where(Application.id.in_([w[0] for w in wanted]))).scalars()}  # fmt: skip
    made = []
    now = clock.now()
    for app_id, result, justification in wanted:
        item = by_id[app_id]
        decision = existing.get(app_id) or Decision(application_id=app_id)
        if decision.id is None:
            db.session.add(decision)
        before = decision.outcome
        decision.outcome, decision.justification = result, justification
        decision.against_selection = result != computed_outcome(item)
        decision.explanation, decision.decided_by_id, decision.decided_at = _explanation(call, item), actor.id, now
        app = apps[app_id]
        target = {"award": "awarded", "reserve": "reserve", "reject": "rejected"}[result]
        if app.status != target:
            if app.status in ("awarded", "reserve", "rejected"):
                app.status = "reviewed"  # a changed decision goes through "reviewed" again
            if app.status in ("eligible", "in_review"):
                app_lifecycle.transition(app, "reviewed", actor)
            app_lifecycle.transition(app, target, actor, justification=justification or None)
        record(actor, "decision.made", "application", app_id, before={"outcome": before},
               after={"outcome": result, "against_selection": decision.against_selection,
                      "justification": justification})  # fmt: skip
        made.append(decision)
    if call_lifecycle.effective_status(call) == "in_review":
        call_lifecycle.transition(call, call_lifecycle.Status.DECIDED, actor)
        call.decided_at = now
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(_("Another manager has just recorded decisions for this call. Reload and check them."),
                       code="concurrent_decision") from None  # fmt: skip
    _tell_applicants(made)
    return made


def _tell_applicants(decisions: list[Decision]) -> None:
    app_ids = [d.application_id for d in decisions]
    rows = db.session.execute(
        select(User.email, User.locale, Application.id)
        .join(Membership, Membership.user_id == User.id)
        .join(Consortium, Consortium.lead_organization_id == Membership.organization_id)
        .join(Application, Application.consortium_id == Consortium.id)
        .where(Application.id.in_(app_ids))
    ).all()  # fmt: skip
    outcomes = {d.application_id: d for d in decisions}
    for email, locale, app_id in rows:
        decision = outcomes[app_id]
        mail.send(email, "decision", locale, decision=decision, app=decision.application,
                  link=external_url("reviews.result", app_id=app_id))  # fmt: skip
    db.session.commit()


def public_results(call: Call) -> list[dict]:
    """Funded projects with consortia, amounts and scores, and every decision taken against
    the selection with its justification."""
    rows = db.session.execute(
        select(Decision, Application).join(Application, Application.id == Decision.application_id)
        .where(Application.call_id == call.id).order_by(Application.number)
    ).all()  # fmt: skip
    out = []
    for decision, app in rows:
        if decision.outcome != "award" and not decision.against_selection:
            continue
        out.append({
            "application_id": app.id, "receipt": f"{call.code}-{(app.number or 0):04d}", "title": app.title,
            "consortium": app.consortium.name, "lead": app.consortium.lead.name,
            "members": [m.organization.name for m in app.consortium.members],
            "amount": app.requested_amount if decision.outcome == "award" else 0, "outcome": decision.outcome,
            "merit": decision.explanation.get("merit"), "priority": decision.explanation.get("priority"),
            "final": decision.explanation.get("final"), "rank": decision.explanation.get("rank"),
            "against_selection": decision.against_selection, "justification": decision.justification,
            "region": app.consortium.lead.region, "women_led": app.consortium.lead.women_led_verified,
            "youth_led": app.consortium.lead.youth_led_verified,
        })  # fmt: skip
    return sorted(out, key=lambda r: r["rank"] or 0)


# --- appeals ---------------------------------------------------------------------------------------


def appeal_deadline(call: Call, decision: Decision):
    return decision.decided_at + timedelta(days=call.appeal_days)


def appeal(actor, app: Application, reason: str):
    """The lead appeals a decision within the call's window (default 10 days), once."""
    from ..consortia.rules import user_org_ids
    from .models import Appeal

    if app.consortium.lead_organization_id not in user_org_ids(actor):
        raise Forbidden(_("Only a member of the lead organization can appeal."), code="not_lead")
    decision = db.session.execute(select(Decision).filter_by(application_id=app.id)).scalar_one_or_none()
    if decision is None:
        raise Conflict(_("There is no decision to appeal yet."), code="no_decision")
    if clock.now() > appeal_deadline(app.call, decision):
        raise Conflict(_("The time for appeals ended on %(when)s.", when=_when(appeal_deadline(app.call, decision))),
                       code="appeal_closed")  # fmt: skip
    if db.session.execute(select(Appeal.id).filter_by(application_id=app.id)).first():
        raise Conflict(_("This application has already been appealed."), code="already_appealed")
    reason = (reason or "").strip()
    if len(reason) < 20:
        raise ValidationFailed(_("Explain the reason for the appeal (at least 20 characters)."),
                               fields={"reason": [_("Too short.")]})  # fmt: skip
    item = Appeal(application_id=app.id, reason=reason[:10000], created_by_id=actor.id, created_at=clock.now())
    db.session.add(item)
    db.session.flush()
    record(actor, "appeal.filed", "application", app.id, after={"appeal": item.id})
    db.session.commit()
    return item


def answer_appeal(actor, item, *, outcome: str, answer: str):
    if outcome not in ("upheld", "dismissed"):
        raise ValidationFailed(_("Choose upheld or dismissed."), fields={"outcome": [_("Not a valid choice.")]})
    if not (answer or "").strip():
        raise ValidationFailed(_("Write the answer to the applicant."), fields={"answer": [_("A reason is required.")]})
    if item.answered_at is not None:
        raise Conflict(_("This appeal has already been answered."), code="already_answered")
    item.outcome, item.answer, item.answered_by_id, item.answered_at = (
        outcome,
        answer.strip()[:10000],
        actor.id,
        clock.now(),
    )
    record(actor, "appeal.answered", "application", item.application_id, after={"outcome": outcome})
    db.session.commit()
    return item


def appeals_of(call: Call):
    from .models import Appeal

    return list(db.session.execute(select(Appeal, Application).join(Application, Application.id == Appeal.application_id)
                                   .where(Application.call_id == call.id).order_by(Appeal.id)).all())  # fmt: skip


def _when(moment) -> str:
    from ..i18n import format_datetime

    return format_datetime(moment)


def result_figures(rows: list[dict]) -> dict:
    """Funded amounts by region and counts by verified women-/youth-led status (for charts)."""
    funded = [r for r in rows if r["outcome"] == "award"]
    by_region: dict[str, int] = {}
    for r in funded:
        by_region[r["region"]] = by_region.get(r["region"], 0) + r["amount"]
    return {
        "by_region": sorted(by_region.items(), key=lambda kv: -kv[1]),
        "women_led": sum(1 for r in funded if r["women_led"]),
        "youth_led": sum(1 for r in funded if r["youth_led"]),
        "funded": len(funded),
    }
