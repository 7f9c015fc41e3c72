"""A submission counts by when the request reached the deployment (issue 15, item 6): the proxy's
X-Request-Start when the app is configured behind a proxy, else when this process received it."""

import time
from datetime import timedelta

import pytest
from conftest import NOW, api_login, login, post_form

from grants.applications.models import Application, Submission
from grants.calls.models import Call
from grants.core import clock
from grants.extensions import db

from .conftest import build_ready


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("t=1700000000.123", 1700000000.123),  # nginx: t=${msec}
        ("t=1700000000123456", 1700000000.123456),  # microseconds
        ("1700000000123", 1700000000.123),  # Heroku: milliseconds
        ("1700000000", 1700000000.0),
        ("", None),
        ("t=soon", None),
        ("nan", None),
        ("-5", None),
    ],
)
def test_x_request_start_is_read_in_the_formats_proxies_send(header, seconds):
    assert clock.proxy_start(header) == (pytest.approx(seconds) if seconds else None)


def _submissions(app_id: int) -> list[Submission]:
    db.session.rollback()
    return list(db.session.execute(db.select(Submission).filter_by(application_id=app_id)).scalars())


def test_a_request_that_arrived_before_the_deadline_is_accepted_though_handled_after_it(
    make_app, database_url, users, organization, frozen
):
    app = make_app(database_url, PROXY_COUNT=1, TRUST_REQUEST_START=True)
    with app.app_context():
        ready = build_ready(users, organization, closes_at=(NOW + timedelta(minutes=10)).isoformat())
        closes_at = db.session.get(Call, ready.call_id).closes_at
        client = app.test_client()
        login(client, ready.lead_email)
        frozen.to(closes_at + timedelta(seconds=2))  # the worker gets to it 2 s after the deadline…
        sent = time.time() - 5  # …but the proxy received it 5 s before it got to this process
        response = post_form(client, f"/applications/{ready.app_id}/check", {},
                             headers={"X-Request-Start": f"t={sent:.3f}"})  # fmt: skip
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        [stored] = _submissions(ready.app_id)
        assert stored.submitted_at <= closes_at - timedelta(seconds=3)  # the arrival, not the handling
        assert stored.submitted_at > closes_at - timedelta(minutes=5)
        assert db.session.get(Application, ready.app_id).submitted_at == stored.submitted_at


@pytest.mark.parametrize(
    ("proxy_count", "trusted", "queued"),
    [(0, True, 5), (1, False, 5), (1, True, 3600), (1, True, 150), (1, True, -60)],
    ids=["forged-without-a-proxy", "a-proxy-that-does-not-set-it", "older-than-the-queue-allows",
         "older-than-two-minutes", "in-the-future"],
)
def test_an_unbelievable_arrival_time_is_ignored_and_the_deadline_holds(
    make_app, database_url, users, organization, frozen, proxy_count, trusted, queued
):
    app = make_app(database_url, PROXY_COUNT=proxy_count, TRUST_REQUEST_START=trusted)
    with app.app_context():
        ready = build_ready(users, organization, closes_at=(NOW + timedelta(minutes=10)).isoformat())
        closes_at = db.session.get(Call, ready.call_id).closes_at
        client = app.test_client()
        token = api_login(client, ready.lead_email).json["token"]
        frozen.to(closes_at + timedelta(seconds=2))
        response = client.post(f"/api/v1/applications/{ready.app_id}/submit",
                               headers={"Authorization": f"Bearer {token}",
                                        "X-Request-Start": f"t={time.time() - queued:.3f}"})  # fmt: skip
        assert response.status_code == 409, response.json
        assert response.json["error"]["code"] == "deadline_passed"
        assert _submissions(ready.app_id) == []


def test_outside_a_request_the_arrival_is_now(frozen):
    assert clock.received_at() == clock.now()
