"""`make run` seeds the demo: every stage of a round is there to look at."""

import pytest
from conftest import login

from grants.extensions import db


# `make run` seeds the demo into SQLite (tests/api/test_fuzz.py seeds it into PostgreSQL too).
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
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
    assert db.session.execute(db.select(db.func.count(Decision.id))).scalar() == 4
    assert seed(only_if_empty=True) is None  # a second start seeds nothing


@pytest.fixture
def demo(make_app, demo_database, tmp_path):
    """An app on a copy of the demo round on SQLite, seeded once per run (`demo_database` in
    tests/conftest.py)."""
    app = make_app(demo_database("sqlite", tmp_path))
    with app.app_context():
        yield app


def test_demo_shows_an_award_in_each_state_and_every_award_page_answers(demo):
    """Letter not issued, first tranche paid, a report waiting for the manager, completed; each
    award's pages answer 200 to the manager and to its grantee."""
    from grants.awards.models import Award
    from grants.demo import PASSWORD

    app = demo

    awards = db.session.execute(db.select(Award).order_by(Award.id)).scalars().all()
    states = [
        (a.letter is not None, [t.status for t in a.tranches], [r.status for r in a.reports], a.status) for a in awards
    ]
    assert states == [
        (False, ["scheduled"] * 3, ["due", "due"], "pending_signature"),
        (True, ["paid", "scheduled", "scheduled"], ["due", "due"], "active"),
        (True, ["paid", "scheduled", "scheduled"], ["submitted", "due"], "active"),
        (True, ["paid"] * 3, ["approved", "approved"], "completed"),
    ]
    manager = app.test_client()
    login(manager, "manager@demo.kz", PASSWORD)
    call_id = awards[0].application.call_id
    assert manager.get(f"/manage/calls/{call_id}/awards").status_code == 200
    for n, award in enumerate(awards):
        grantee = app.test_client()
        login(grantee, f"lead{n}@demo.kz", PASSWORD)
        for client in (manager, grantee):
            assert client.get(f"/awards/{award.id}").status_code == 200, (n, award.agreement_number)
            if award.letter is not None:
                assert client.get(f"/awards/{award.id}/letter.pdf").data[:5] == b"%PDF-"
                assert client.get(f"/verify/{award.letter.verification_code}").status_code == 200
        assert grantee.get("/awards").status_code == 200
