"""The ranking reads each submitted review's stored total; the pure scoring module stays the one
source of truth: after every kind of change the stored values and the ranking built on them equal
a fresh computation from the reviews' scores by `scoring`."""

from __future__ import annotations

import dataclasses

import sqlalchemy as sa
from reviews.conftest import score_all, stage  # noqa: F401  (the fixture)

from grants.extensions import db
from grants.reviews import ranking as ranking_module
from grants.reviews import scoring, services
from grants.reviews.models import Assignment, Review

FIELDS = ("application_id", "totals", "merit", "priority", "priority_reasons", "final", "flags", "rank", "selected",
          "reason", "reserve")  # fmt: skip


def _raw_reviews(call) -> dict[int, tuple[dict, ...]]:
    rows = db.session.execute(
        sa.select(Assignment.application_id, Review.scores).join(Review, Review.assignment_id == Assignment.id)
        .where(Review.submitted_at.is_not(None)).order_by(Assignment.seat)
    ).all()  # fmt: skip
    out: dict[int, list] = {}
    for app_id, scores in rows:
        out.setdefault(app_id, []).append(scores)
    return {k: tuple(v) for k, v in out.items()}


def assert_stored_equals_fresh(call, monkeypatch) -> scoring.Outcome:
    """Every stored total is scoring.reviewer_total of its review's scores (none when not submitted),
    and the ranking equals scoring.evaluate over the raw scores of the same candidates."""
    db.session.expire_all()
    criteria = services.rules_of(call).criteria
    for review in db.session.execute(sa.select(Review)).scalars():
        if review.submitted_at is None:
            assert (review.total_numerator, review.total_denominator) == (None, None)
        else:
            fresh = scoring.reviewer_total(review.scores, criteria)
            assert (review.total_numerator, review.total_denominator) == (fresh.numerator, fresh.denominator)
    seen = {}
    evaluate = scoring.evaluate

    def spy(candidates, rules, forced=None):
        seen["candidates"], seen["rules"] = candidates, rules
        return evaluate(candidates, rules, forced)

    monkeypatch.setattr(scoring, "evaluate", spy)
    stored, _apps = ranking_module.ranking(call)
    monkeypatch.setattr(scoring, "evaluate", evaluate)
    raw = _raw_reviews(call)
    assert all(c.totals is not None for c in seen["candidates"])  # the stored path was taken
    fresh = scoring.evaluate([dataclasses.replace(c, reviews=raw.get(c.application_id, ()), totals=None)
                              for c in seen["candidates"]], seen["rules"])  # fmt: skip
    as_rows = lambda outcome: [tuple(getattr(i, f) for f in FIELDS) for i in outcome.items]  # noqa: E731
    assert as_rows(stored) == as_rows(fresh)
    assert (stored.budget_used, stored.awards, stored.consortia) == (fresh.budget_used, fresh.awards, fresh.consortia)
    return stored


def _first(application_id, **where):
    return db.session.execute(sa.select(Assignment).filter_by(application_id=application_id, **where)
                              .order_by(Assignment.seat)).scalars().first()  # fmt: skip


def test_stored_totals_equal_a_fresh_computation_through_submit_edit_conflict_and_decisions(stage, monkeypatch):  # noqa: F811
    for application in stage.apps:
        services.set_eligibility(stage.manager, application, eligible=True, reason="")
    services.auto_assign(stage.manager, stage.call)
    # A conflict of interest: the seat is handed to another reviewer; the conflicted one never counts.
    conflicted = _first(stage.apps[1].id)
    services.declare(conflicted.reviewer, conflicted, conflict=True, reason="Менің туысым")
    score_all(stage, lambda a: {"relevance": a.id % 11, "feasibility": (a.id * 3) % 11, "impact": (a.id * 2) % 6})
    db.session.commit()
    first = assert_stored_equals_fresh(stage.call, monkeypatch)
    assert any(i.merit is not None for i in first.items)

    # Edited: reopened by a manager (the review stops counting), then submitted with other scores.
    edited = _first(stage.apps[2].id, status="submitted")
    services.reopen(stage.manager, edited, "Арифметикалық қате")
    db.session.commit()
    reopened = assert_stored_equals_fresh(stage.call, monkeypatch)
    item = next(i for i in reopened.items if i.application_id == stage.apps[2].id)
    assert len(item.totals) == 2 and "incomplete" in item.flags
    services.save_review(edited.reviewer, edited, scores={"relevance": 10, "feasibility": "7,5", "impact": 5},
                         comments={}, overall_comment="", submit=True)  # fmt: skip
    db.session.commit()
    assert_stored_equals_fresh(stage.call, monkeypatch)

    # Decisions: applying the selection and changing one decision leave the ranking's scores as computed.
    services.decide(stage.manager, stage.call, apply_selection=True)
    db.session.commit()
    assert_stored_equals_fresh(stage.call, monkeypatch)
    services.decide(stage.manager, stage.call, [{"application_id": stage.apps[0].id, "outcome": "reject",
                                                 "justification": "Бюджет қайта қаралды", "version": 1}])  # fmt: skip
    db.session.commit()
    assert_stored_equals_fresh(stage.call, monkeypatch)


def test_reviews_loaded_without_totals_are_totalled_by_the_scoring_module_on_read(stage, monkeypatch):  # noqa: F811
    for application in stage.apps:
        services.set_eligibility(stage.manager, application, eligible=True, reason="")
    services.auto_assign(stage.manager, stage.call)
    score_all(stage, lambda a: {"relevance": 7, "feasibility": a.id % 11, "impact": 4})
    db.session.commit()
    expected = [tuple(getattr(i, f) for f in FIELDS) for i in ranking_module.ranking(stage.call)[0].items]
    db.session.execute(
        sa.update(Review).values(total_numerator=None, total_denominator=None)
    )  # as a bulk load leaves them
    db.session.commit()
    again = ranking_module.ranking(stage.call)[0]
    db.session.commit()
    assert [tuple(getattr(i, f) for f in FIELDS) for i in again.items] == expected
    assert db.session.execute(sa.select(sa.func.count()).where(Review.total_numerator.is_(None))).scalar() == 0
    assert_stored_equals_fresh(stage.call, monkeypatch)


def test_migration_backfills_the_totals_of_submitted_reviews_with_the_scoring_module(stage, monkeypatch):  # noqa: F811
    from flask_migrate import downgrade, upgrade

    for application in stage.apps:
        services.set_eligibility(stage.manager, application, eligible=True, reason="")
    services.auto_assign(stage.manager, stage.call)
    score_all(stage, lambda a: {"relevance": a.id % 11, "feasibility": 6, "impact": (a.id * 2) % 6})
    draft = db.session.execute(sa.select(Review).order_by(Review.id)).scalars().first()
    services.reopen(stage.manager, draft.assignment, "Қайта қарау")
    db.session.commit()
    call_id = stage.call.id
    db.session.close()
    downgrade(revision="0023_security_findings")  # the columns go…
    upgrade()  # …and come back filled by the backfill
    submitted = db.session.execute(sa.select(sa.func.count()).where(Review.submitted_at.is_not(None))).scalar()
    assert submitted == 8
    from grants.calls.models import Call

    assert_stored_equals_fresh(db.session.get(Call, call_id), monkeypatch)
