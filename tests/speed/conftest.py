"""A call in review of any size, written with bulk inserts (as the bench seeds its large round), so
pages can be compared at two sizes in a second: n applications of n consortia, all led by one
applicant's organization, each with a budget line, an indicator, a workplan item, a receipt and
three submitted reviews (totals left for the ranking to compute and store, as after a bulk load)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
import sqlalchemy as sa
from conftest import NOW

from grants.extensions import db


@dataclass
class Round:
    call_id: int
    lead_email: str
    application_ids: list[int]


@pytest.fixture
def bulk_round(app, users, manager):
    """bulk_round(n, tag, status="submitted") → Round: every seat in `status` (three reviewers, shared by
    every round of the test, hold them)."""
    from grants.applications.models import Application, BudgetLine, Indicator, Submission, WorkplanItem
    from grants.calls.models import Call, Criterion
    from grants.consortia.models import Consortium, ConsortiumMember
    from grants.organizations.models import Membership, Organization
    from grants.reviews.models import Assignment, Review

    reviewers = [users(f"speed-r{i}@example.kz", role="reviewer") for i in range(3)]

    def build(n: int, tag: str, *, status: str = "submitted") -> Round:
        lead = users(f"speed-{tag}@example.kz")
        call = Call(code=f"SP-{tag}", title_ru=f"Скорость {tag}", title_kk=f"Жылдамдық {tag}", envelope=20_000_000,
                    min_amount=1_000_000, max_amount=5_000_000, opens_at=NOW - timedelta(days=60),
                    closes_at=NOW - timedelta(days=10), status="in_review", published_at=NOW - timedelta(days=60),
                    alert_offsets_days=[1])  # fmt: skip
        call.criteria = [Criterion(key="a", title_ru="A", weight=30, max_score=10),
                         Criterion(key="b", title_ru="B", weight=40, max_score=10),
                         Criterion(key="c", title_ru="C", weight=30, max_score=5)]  # fmt: skip
        db.session.add(call)
        db.session.flush()
        orgs = [Organization(name=f"SP {tag} {i}", legal_form="initiative_group", region=("almaty", "abai")[i % 2],
                             settlement=("rural", "urban")[i % 2], women_led_verified=i % 3 == 0) for i in range(2 * n)]  # fmt: skip
        db.session.add_all(orgs)
        db.session.flush()
        db.session.execute(
            sa.insert(Membership), [{"user_id": lead.id, "organization_id": orgs[0].id, "role": "owner"}]
        )
        consortia = [Consortium(name=f"SP {tag} C{i}", lead_organization_id=orgs[0].id) for i in range(n)]
        db.session.add_all(consortia)
        db.session.flush()
        db.session.execute(sa.insert(ConsortiumMember), [
            {"consortium_id": c.id, "organization_id": org.id, "role": role, "confirmed_at": NOW}
            for i, c in enumerate(consortia) for org, role in ((orgs[0], "lead"), (orgs[n + i], "partner"))])  # fmt: skip
        apps = [Application(call_id=call.id, consortium_id=c.id, status="in_review", version=2, number=i + 1,
                            language="ru", title=f"Жоба {i}", summary="Қысқаша", requested_amount=2_000_000 + i * 1000,
                            partner_roles={}, declarations={}, submitted_at=NOW - timedelta(days=11, seconds=i))
                for i, c in enumerate(consortia)]  # fmt: skip
        db.session.add_all(apps)
        db.session.flush()
        for model, rows in (
            (BudgetLine, [{"application_id": a.id, "organization_id": orgs[0].id, "category": "events", "description": "x",
                           "quantity": 1, "unit_cost": a.requested_amount, "position": 0} for a in apps]),
            (Indicator, [{"application_id": a.id, "name": "x", "unit": "x", "baseline": 0, "target": 1, "position": 0}
                         for a in apps]),
            (WorkplanItem, [{"application_id": a.id, "activity": "x", "start_month": 1, "end_month": 2, "position": 0}
                            for a in apps]),
            (Submission, [{"application_id": a.id, "version": 1, "receipt_number": f"SP-{tag}-{a.number:04d}",
                           "snapshot": "{}", "sha256": "0" * 64, "submitted_at": a.submitted_at} for a in apps]),
            (Assignment, [{"application_id": a.id, "reviewer_id": r.id, "seat": s + 1, "status": status,
                           "due_at": NOW + timedelta(days=5), "declared_at": NOW} for a in apps
                          for s, r in enumerate(reviewers)]),
        ):  # fmt: skip
            db.session.execute(sa.insert(model), rows)
        seats = db.session.execute(sa.select(Assignment.id).where(Assignment.application_id.in_([a.id for a in apps]))
                                   .order_by(Assignment.id)).scalars().all()  # fmt: skip
        if status == "submitted":  # otherwise the seats are owed: nothing submitted yet
            db.session.execute(sa.insert(Review), [
                {"assignment_id": s, "scores": {"a": (s * 7) % 11, "b": (s * 3) % 11, "c": s % 6}, "comments": {},
                 "overall_comment": "", "saved_at": NOW, "submitted_at": NOW} for s in seats])  # fmt: skip
        db.session.commit()
        return Round(call.id, lead.email, [a.id for a in apps])

    return build
