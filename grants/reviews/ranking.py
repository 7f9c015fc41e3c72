"""The ranking screen's computation: scores, priority points and the computed selection for a
call, from a fixed number of column queries whatever its size (scoring itself is pure)."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from sqlalchemy import bindparam, select, update

from ..applications import lifecycle as app_lifecycle
from ..applications.models import Application
from ..calls.models import Call
from ..consortia.models import Consortium, ConsortiumMember
from ..extensions import db
from ..organizations.models import Organization
from . import scoring
from .lifecycle import DecisionStatus
from .models import Assignment, Decision, Review


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


RANKED_STATUSES = tuple(sorted(app_lifecycle.SUBMITTED - {app_lifecycle.Status.SUBMITTED}))


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
    rules = rules_of(call)
    totals = reviewer_totals(call, rules)
    members: dict[int, list[scoring.Member]] = {}
    funded_before = select(ConsortiumMember.organization_id).join(
        Application, Application.consortium_id == ConsortiumMember.consortium_id).join(
        Decision, Decision.application_id == Application.id).where(Decision.outcome == "award",
                                                                  Decision.status == DecisionStatus.DECIDED,
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
        scoring.Candidate(r[0], r[4], r[6], r[7], r[3] != app_lifecycle.Status.INELIGIBLE, (),
                          tuple(members.get(r[4], [])), totals=tuple(totals.get(r[0], ())))
        for r in rows
    ]  # fmt: skip
    return scoring.evaluate(candidates, rules), apps


def store_total(review: Review, call: Call) -> None:
    """Keep the submitted review's reviewer total T (scoring.reviewer_total, the ranking's own
    formula) beside its scores; a review that is not submitted has none."""
    if review.submitted_at is None:
        review.total_numerator = review.total_denominator = None
        return
    total = scoring.reviewer_total(review.scores, rules_of(call).criteria)
    review.total_numerator, review.total_denominator = total.numerator, total.denominator


def reviewer_totals(call: Call, rules: scoring.Rules) -> dict[int, list[Fraction]]:
    """Application id → the reviewer totals T of its submitted reviews, by seat, from the totals
    stored at submission. A submitted review without one (rows written outside the services, e.g.
    a bulk load) is totalled here by scoring.reviewer_total and its total stored with the request."""
    rows = db.session.execute(
        select(Assignment.application_id, Review.id, Review.total_numerator, Review.total_denominator)
        .join(Review, Review.assignment_id == Assignment.id)
        .join(Application, Application.id == Assignment.application_id)
        .where(Application.call_id == call.id, Review.submitted_at.is_not(None)).order_by(Assignment.seat)
    ).all()  # fmt: skip
    missing = [review_id for _app, review_id, numerator, _d in rows if numerator is None]
    computed: dict[int, Fraction] = {}
    if missing:
        for review_id, scores in db.session.execute(select(Review.id, Review.scores).where(Review.id.in_(missing))):
            computed[review_id] = scoring.reviewer_total(scores, rules.criteria)
        # Only where still submitted and untotalled: a reopen or a new submission meanwhile wins.
        table = Review.__table__
        db.session.execute(
            update(table).where(table.c.id == bindparam("rid"), table.c.total_numerator.is_(None),
                                table.c.submitted_at.is_not(None))
            .values(total_numerator=bindparam("n"), total_denominator=bindparam("d")),
            [{"rid": rid, "n": t.numerator, "d": t.denominator} for rid, t in computed.items()],
        )  # fmt: skip
    totals: dict[int, list[Fraction]] = {}
    made: dict[tuple[int, int], Fraction] = {}  # few distinct totals: one Fraction each
    for app_id, review_id, numerator, denominator in rows:
        if numerator is None:
            total = computed[review_id]
        else:
            total = made.get((numerator, denominator))
            if total is None:
                total = made[numerator, denominator] = Fraction(numerator, denominator)
        totals.setdefault(app_id, []).append(total)
    return totals
