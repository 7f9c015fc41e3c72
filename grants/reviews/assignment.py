"""Reviewer assignment as a pure function: conflict-free, balanced, deterministic.

Each application needs `needed` more reviewers. A reviewer may take it unless affiliated with
or conflicted with any member organization, or already assigned to it. Applications are
served in id order; each takes the least-loaded allowed reviewers (ties: lower user id), so
loads differ by at most one whenever conflicts allow, and the same input gives the same plan.
Whatever cannot be assigned is reported with the reason."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Need:
    application_id: int
    organization_ids: frozenset[int]
    assigned: frozenset[int]  # reviewer ids already on it (any status, conflicted included)
    needed: int


@dataclass(frozen=True)
class Pool:
    reviewer_id: int
    excluded_organizations: frozenset[int]  # affiliations and declared conflicts
    load: int  # active assignments in this call


@dataclass
class Plan:
    pairs: list[tuple[int, int]] = field(default_factory=list)  # (application id, reviewer id)
    loads: dict[int, int] = field(default_factory=dict)
    unassigned: list[dict] = field(default_factory=list)  # {application_id, missing, reason}


def plan(needs: list[Need], pool: list[Pool]) -> Plan:
    result = Plan(loads={p.reviewer_id: p.load for p in pool})
    by_id = {p.reviewer_id: p for p in pool}
    for need in sorted(needs, key=lambda n: n.application_id):
        if need.needed <= 0:
            continue
        allowed = [
            rid for rid, p in by_id.items()
            if rid not in need.assigned and not (p.excluded_organizations & need.organization_ids)
        ]  # fmt: skip
        chosen = sorted(allowed, key=lambda rid: (result.loads[rid], rid))[: need.needed]
        for rid in chosen:
            result.pairs.append((need.application_id, rid))
            result.loads[rid] += 1
        missing = need.needed - len(chosen)
        if missing:
            reason = "no_reviewers" if not pool else "conflicts"
            result.unassigned.append({"application_id": need.application_id, "missing": missing, "reason": reason})
    return result
