"""Scoring, ranking and selection — pure functions over plain data (no database, no clock),
so every number shown to applicants can be reproduced and tested exhaustively.

Rules (DESIGN.md "Scoring"):
  T (reviewer total) = Σ weight_i × score_i / max_i           (weights sum to 100 → 0..100)
  M (merit)          = mean of the submitted reviewers' T
  flags              = incomplete (fewer reviews than required), divergent (max T − min T > threshold)
  P (priority)       = only when M ≥ quality threshold: women-led + youth-led + rural lead + newcomer
                       points, capped; "counts as" by basis lead|majority, manager-verified flags only
  F (final)          = M + P
  ranking            = F desc, then M desc, then earlier submission, then lower application id
  selection          = walk the ranking; fund when eligible, M ≥ threshold, budget left ≥ requested,
                       awards < max_awards, the consortium's awards < max per consortium, and the
                       funded consortia stay ≤ max_consortia; every skip gets its reason; the
                       unfunded eligible applications at or above the threshold form the reserve list.
Arithmetic is exact (fractions); numbers are rounded to 2 decimals only for display."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from functools import cache
from typing import Literal


@dataclass(frozen=True)
class Criterion:
    key: str
    weight: int
    max_score: int


@dataclass(frozen=True)
class Priority:
    women_led_points: int = 10
    youth_led_points: int = 10
    rural_points: int = 5
    newcomer_points: int = 0
    cap: int = 20
    basis: Literal["lead", "majority"] = "lead"


@dataclass(frozen=True)
class Rules:
    criteria: tuple[Criterion, ...]
    reviewers_per_application: int = 3
    quality_threshold: Fraction = Fraction(60)
    divergence_threshold: Fraction = Fraction(25)
    priority: Priority = Priority()
    envelope: int = 0
    max_awards: int = 20
    max_awards_per_consortium: int = 4
    max_consortia: int = 5


@dataclass(frozen=True)
class Member:
    organization_id: int
    lead: bool
    women_led: bool = False  # manager-verified only
    youth_led: bool = False  # manager-verified only
    rural: bool = False
    funded_before: bool = False


@dataclass(frozen=True)
class Candidate:
    application_id: int
    consortium_id: int
    requested_amount: int
    submitted_at: datetime
    eligible: bool
    reviews: tuple[dict[str, Fraction | int | float], ...]  # submitted reviews: {criterion key: score}
    members: tuple[Member, ...]
    # The reviewers' totals T when already computed by `reviewer_total` (stored with each submitted
    # review); None: computed here from `reviews`.
    totals: tuple[Fraction, ...] | None = None


@dataclass
class Scored:
    application_id: int
    consortium_id: int
    requested_amount: int
    submitted_at: datetime
    eligible: bool
    totals: list[Fraction]
    merit: Fraction | None
    priority: Fraction
    priority_reasons: list[str]
    final: Fraction | None
    flags: list[str]
    rank: int = 0
    selected: bool = False
    reason: str = ""
    reserve: bool = False


@dataclass
class Outcome:
    items: list[Scored]
    budget_used: int
    budget_left: int
    awards: int
    consortia: dict[int, int] = field(default_factory=dict)  # consortium id → awards

    @property
    def reserve(self) -> list[Scored]:
        return [s for s in self.items if s.reserve]


# Why an application was not selected (codes; the UI translates them).
SKIP_REASONS = (
    "not_eligible",
    "no_reviews",
    "below_threshold",
    "budget",
    "max_awards",
    "consortium_cap",
    "max_consortia",
)


@cache
def _common_denominator(criteria: tuple[Criterion, ...]) -> int:
    return math.lcm(*(c.max_score for c in criteria)) if criteria else 1


def reviewer_total(scores: dict, criteria: tuple[Criterion, ...]) -> Fraction:
    """T = Σ weight × score / max. Raises ValueError for a missing, unknown or out-of-range score.
    Whole-number scores are summed as integers over a common denominator (exact and fast)."""
    if len(scores) != len(criteria) or any(c.key not in scores for c in criteria):
        unknown = set(scores) - {c.key for c in criteria}
        if unknown:
            raise ValueError(f"unknown criteria: {sorted(unknown)}")
        missing = [c.key for c in criteria if c.key not in scores]
        raise ValueError(f"missing score for {missing[0]}")
    denominator = _common_denominator(criteria)
    whole, rest = 0, Fraction(0)
    for c in criteria:
        score = scores[c.key]
        if type(score) is int:
            if not 0 <= score <= c.max_score:
                raise ValueError(f"score for {c.key} must be within 0..{c.max_score}")
            whole += c.weight * score * (denominator // c.max_score)
        else:
            exact = Fraction(score)
            if not 0 <= exact <= c.max_score:
                raise ValueError(f"score for {c.key} must be within 0..{c.max_score}")
            rest += Fraction(c.weight) * exact / c.max_score
    return Fraction(whole, denominator) + rest


def counts_as(members: tuple[Member, ...], flag: str, basis: str) -> bool:
    if basis == "lead":
        return any(getattr(m, flag) for m in members if m.lead)
    return sum(1 for m in members if getattr(m, flag)) * 2 > len(members)


def priority_points(merit: Fraction | None, members: tuple[Member, ...], rules: Rules) -> tuple[Fraction, list[str]]:
    """(points, reasons); nothing below the quality threshold."""
    if merit is None or merit < rules.quality_threshold:
        return Fraction(0), []
    p = rules.priority
    reasons, points = [], 0
    if p.women_led_points and counts_as(members, "women_led", p.basis):
        points += p.women_led_points
        reasons.append("women_led")
    if p.youth_led_points and counts_as(members, "youth_led", p.basis):
        points += p.youth_led_points
        reasons.append("youth_led")
    if p.rural_points and any(m.rural for m in members if m.lead):
        points += p.rural_points
        reasons.append("rural")
    if p.newcomer_points and members and not any(m.funded_before for m in members):
        points += p.newcomer_points
        reasons.append("newcomer")
    if points > p.cap:
        reasons.append("capped")
    return Fraction(min(points, p.cap)), reasons


def _merit_and_spread(totals: list[Fraction], threshold: Fraction) -> tuple[Fraction | None, bool]:
    """(M, max T − min T > threshold), in integers over the totals' common denominator: the same
    exact values as Fraction arithmetic, a few times faster over thousands of applications."""
    if not totals:
        return None, False
    denominator = math.lcm(*(t.denominator for t in totals))
    scaled = [t.numerator * (denominator // t.denominator) for t in totals]
    divergent = (max(scaled) - min(scaled)) * threshold.denominator > threshold.numerator * denominator
    return Fraction(sum(scaled), denominator * len(totals)), divergent


def score(candidate: Candidate, rules: Rules) -> Scored:
    if candidate.totals is not None:
        totals = list(candidate.totals)
    else:
        totals = [reviewer_total(r, rules.criteria) for r in candidate.reviews]
    merit, divergent = _merit_and_spread(totals, rules.divergence_threshold)
    flags = []
    if len(totals) < rules.reviewers_per_application:
        flags.append("incomplete")
    if divergent:
        flags.append("divergent")
    priority, reasons = priority_points(merit, candidate.members, rules)
    final = merit + priority if merit is not None else None
    return Scored(candidate.application_id, candidate.consortium_id, candidate.requested_amount, candidate.submitted_at,
                  candidate.eligible, totals, merit, priority, reasons, final, flags)  # fmt: skip


def rank(scored: list[Scored]) -> list[Scored]:
    """F desc, M desc, earlier submission, lower id; unscored last. Ranks are 1, 2, 3, …"""

    # Exact integer keys over one common denominator (F and M are never negative; unscored is −1).
    common = math.lcm(*(v.denominator for s in scored for v in (s.final, s.merit) if v is not None))

    def key(s: Scored):
        final = s.final.numerator * (common // s.final.denominator) if s.final is not None else -common
        merit = s.merit.numerator * (common // s.merit.denominator) if s.merit is not None else -common
        return (-final, -merit, s.submitted_at, s.application_id)

    ordered = sorted(scored, key=key)
    for position, item in enumerate(ordered, start=1):
        item.rank = position
    return ordered


def select(ordered: list[Scored], rules: Rules, forced: dict[int, str] | None = None) -> Outcome:
    """Greedy selection down the ranking under every cap; each skip gets its reason.

    `forced` previews managers' overrides ({application id: "award" | "reject"}): forced awards
    are funded first (they use budget, award and consortium slots), forced rejects are passed
    over, and the greedy walk fills what is left."""
    forced = forced or {}
    budget_left, awards = rules.envelope, 0
    per_consortium: dict[int, int] = {}
    for item in ordered:
        if forced.get(item.application_id) == "award":
            item.selected, item.reason = True, "override_award"
            budget_left -= item.requested_amount
            awards += 1
            per_consortium[item.consortium_id] = per_consortium.get(item.consortium_id, 0) + 1
    for item in ordered:
        if item.application_id in forced:
            if forced[item.application_id] != "award":
                item.reason = "override_reject"
            continue
        if not item.eligible:
            item.reason = "not_eligible"
        elif item.merit is None:
            item.reason = "no_reviews"
        elif item.merit < rules.quality_threshold:
            item.reason = "below_threshold"
        elif item.requested_amount > budget_left:
            item.reason = "budget"
        elif awards >= rules.max_awards:
            item.reason = "max_awards"
        elif per_consortium.get(item.consortium_id, 0) >= rules.max_awards_per_consortium:
            item.reason = "consortium_cap"
        elif item.consortium_id not in per_consortium and len(per_consortium) >= rules.max_consortia:
            item.reason = "max_consortia"
        else:
            item.selected, item.reason = True, "selected"
            budget_left -= item.requested_amount
            awards += 1
            per_consortium[item.consortium_id] = per_consortium.get(item.consortium_id, 0) + 1
        item.reserve = not item.selected and item.reason in ("budget", "max_awards", "consortium_cap", "max_consortia")
    return Outcome(ordered, rules.envelope - budget_left, budget_left, awards, per_consortium)


def evaluate(candidates: list[Candidate], rules: Rules, forced: dict[int, str] | None = None) -> Outcome:
    """Score, rank and select: the whole computation shown on the ranking screen."""
    return select(rank([score(c, rules) for c in candidates]), rules, forced)


def shown(value: Fraction | None) -> str:
    """Two decimals, half up (for display only; comparisons use the exact value)."""
    if value is None:
        return "—"
    scaled = value * 100
    whole = scaled.numerator // scaled.denominator
    if (scaled - whole) * 2 >= 1:
        whole += 1
    return f"{whole // 100}.{whole % 100:02d}" if whole >= 0 else f"-{(-whole) // 100}.{(-whole) % 100:02d}"
