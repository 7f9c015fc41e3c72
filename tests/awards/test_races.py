"""Real parallel requests against PostgreSQL (threads through a barrier, a threaded HTTP server):
"Six concurrent 'tranche paid': six audit events with six dates", a double "issue letter", and
two tabs autosaving a report on the same version."""

from urllib.parse import urlencode

import pytest
from conftest import CSRF_RE, login, read_outbox
from parallel import api_token, fire

from grants.audit.models import AuditEvent
from grants.awards import issuing
from grants.awards.models import Award, Letter, TranchePayment
from grants.extensions import db

# Row locks are exercised on PostgreSQL (SQLite serialises every writer by itself).
pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@pytest.fixture
def race(awarded, app, live_server):
    stage, awards = awarded
    db.session.commit()
    return stage, awards, live_server(app)


def web_session(app, email: str, page: str) -> tuple[dict, str]:
    """Headers that carry `email`'s signed-in session, and a CSRF token from `page`."""
    client = app.test_client()
    login(client, email)
    match = CSRF_RE.search(client.get(page).get_data(as_text=True))
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    headers = {"Cookie": f"{cookie.key}={cookie.value}", "Content-Type": "application/x-www-form-urlencoded"}
    return headers, match.group(1) or match.group(2)


def test_six_concurrent_payments_of_one_tranche_record_one(race, app):
    stage, awards, base = race
    award = awards[0]
    issuing.issue_letter(stage.manager, award, "ru")
    token = api_token(app, stage.manager)
    days = [f"2027-03-{d:02d}" for d in range(20, 26)]
    results = fire(base, [("POST", f"/api/v1/awards/{award.id}/tranches/1/paid", token, {"paid_on": d}) for d in days])
    assert sorted(r.status for r in results) == [200] + [409] * 5, [(r.status, r.body) for r in results]
    assert {r.code for r in results if r.status == 409} == {"already_paid"}
    winner = next(days[i] for i, r in enumerate(results) if r.status == 200)
    db.session.expire_all()
    tranche = db.session.get(Award, award.id).tranches[0]
    assert tranche.status == "paid" and tranche.paid_on.isoformat() == winner
    payments = db.session.execute(db.select(TranchePayment).filter_by(tranche_id=tranche.id)).scalars().all()
    assert [(p.kind, p.paid_on.isoformat()) for p in payments] == [("payment", winner)]
    events = (
        db.session.execute(
            db.select(AuditEvent).filter_by(action="tranche.pay", object_type="tranche", object_id=tranche.id)
        )
        .scalars()
        .all()
    )
    assert len(events) == 1


def test_a_double_click_on_issue_letter_issues_one_letter_and_one_email(race, app):
    stage, awards, base = race
    award = awards[0]
    headers, csrf = web_session(app, "manager@example.kz", f"/awards/{award.id}")
    form = urlencode({"csrf_token": csrf, "action": "letter", "seen": "0", "confirm": "1", "language": "ru"}).encode()
    results = fire(base, [("POST", f"/awards/{award.id}", None, form)] * 4, headers=headers)
    assert all(r.status in (200, 302) for r in results), [r.status for r in results]
    db.session.expire_all()
    assert db.session.execute(db.select(db.func.count(Letter.id)).filter_by(award_id=award.id)).scalar() == 1
    mails = [m for m in read_outbox(app) if any(p.get_filename() for p in m.iter_attachments())]
    assert len(mails) == 1


def test_two_tabs_autosaving_a_report_on_one_version_one_wins_one_is_told(race, app):
    stage, awards, base = race
    award = next(a for a in awards if a.application_id == stage.apps[0].id)
    headers, csrf = web_session(app, "lead0@example.kz", f"/awards/{award.id}")
    forms = [
        urlencode({"csrf_token": csrf, "action": "save", "kind": "interim", "version": "1", "narrative": text}).encode()
        for text in ("tab one", "tab two")
    ]
    results = fire(
        base, [("POST", f"/awards/{award.id}", None, f) for f in forms], headers=headers | {"X-Autosave": "1"}
    )
    assert sorted(r.status for r in results) == [200, 409], [(r.status, r.body) for r in results]
    winner = ("tab one", "tab two")[next(i for i, r in enumerate(results) if r.status == 200)]
    db.session.expire_all()
    report = next(r for r in db.session.get(Award, award.id).reports if r.kind == "interim")
    assert (report.version, report.narrative) == (2, winner)
