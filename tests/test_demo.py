"""`make run` seeds the demo: every stage of a round is there to look at."""

from grants.extensions import db


def test_demo_seeds_every_stage_once(app):
    from grants.calls.models import Call
    from grants.demo import seed
    from grants.reviews.models import Decision

    created = seed(only_if_empty=True)
    assert ("manager@demo.kz", "demo-grants-2026", "manager") in created
    statuses = dict(db.session.execute(db.select(Call.code, Call.status)).all())
    assert (
        statuses["SG-2027-3"] == "draft" and statuses["SG-2026-3"] == "in_review" and statuses["SG-2026-5"] == "decided"
    )
    assert db.session.execute(db.select(db.func.count(Decision.id))).scalar() == 3
    assert seed(only_if_empty=True) is None  # a second start seeds nothing
