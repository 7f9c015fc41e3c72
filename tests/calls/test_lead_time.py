"""Issue 16, item 5: lead time. A call closing less than MIN_LEAD_DAYS (default 30) after its
publication is published only with the manager's reason, which is shown publicly: on the call's
page, in the API and in the announcement to subscribers. (The field study: NGOs heard of calls
"two days before the deadline".)"""

from datetime import timedelta
from html import unescape

import pytest
from conftest import NOW, PASSWORD, api_login, call_data, login, post_form

from grants.audit.models import AuditEvent
from grants.calls import services
from grants.calls.models import Call
from grants.config import from_environment
from grants.core.errors import ValidationFailed
from grants.extensions import db
from grants.subscriptions.models import Subscription

REASON = "Донор продлил программу только до декабря; консультации для заявителей каждый вторник."
SHORT = {"closes_at": (NOW + timedelta(days=21, hours=3)).isoformat()}  # 21 whole days left


@pytest.fixture
def site(make_app, database_url):
    app = make_app(database_url, MIN_LEAD_DAYS=30)
    with app.app_context():
        yield app


def page(response) -> str:
    return unescape(response.get_data(as_text=True))


def published_events(call_id: int) -> list[AuditEvent]:
    query = db.select(AuditEvent).filter_by(object_type="call", object_id=call_id, action="call.published")
    return list(db.session.execute(query).scalars())


def test_the_web_form_asks_for_a_reason_and_refuses_without_one_in_kk_and_ru(site, frozen, users):
    manager = users("manager@example.kz", role="manager", locale="kk")
    call = services.create(manager, call_data(**SHORT))
    db.session.commit()
    client = site.test_client()
    login(client, "manager@example.kz")
    url, status_url = f"/manage/calls/{call.id}", f"/manage/calls/{call.id}/status"

    form = page(client.get(url))
    assert "Соңғы мерзімге дейін небәрі 21 күн қалды." in form
    assert 'name="short_notice_reason"' in form and "Қысқа мерзімде жариялау себебі" in form

    refused = post_form(client, status_url, {"to": "published"}, form_url=url)
    text = page(refused)
    assert refused.status_code == 422
    assert "кемінде 30 күн бұрын жариялануы тиіс" in text
    assert "Себебін көрсетіңіз; ол байқаудың жария бетінде көрсетіледі." in text
    db.session.rollback()
    assert db.session.get(Call, call.id).status == "draft" and published_events(call.id) == []

    manager.locale = "ru"
    db.session.commit()
    too_short = post_form(client, status_url, {"to": "published", "short_notice_reason": "  срочно  "}, form_url=url)
    text = page(too_short)
    assert too_short.status_code == 422
    assert "До крайнего срока подачи остался всего 21 день." in text
    assert "не позднее чем за 30 дней до крайнего срока подачи" in text
    assert "Поясните подробнее: не менее 20 символов." in text
    assert ">  срочно  </textarea>" in text  # what the manager typed is kept
    db.session.rollback()
    assert db.session.get(Call, call.id).status == "draft" and db.session.get(Call, call.id).short_notice_reason is None

    done = post_form(client, status_url, {"to": "published", "short_notice_reason": f"  {REASON}\n"}, form_url=url)
    assert done.status_code == 302
    db.session.rollback()
    stored = db.session.get(Call, call.id)
    assert stored.status == "published" and stored.short_notice_reason == REASON
    [event] = published_events(call.id)
    assert event.after["short_notice_reason"] == REASON and event.actor_id == manager.id

    public = site.test_client()
    for lang, label in (("kk", "Байқау өтінім беру мерзімі қысқартылып жарияланды:"), ("ru", "Конкурс объявлен с сокращённым сроком подачи заявок:"),
                        ("en", "Published at short notice:")):  # fmt: skip
        shown = page(public.get(f"/calls/{call.id}", headers={"Accept-Language": lang}))
        assert f"{label}</strong> {REASON}" in shown


def test_the_api_refuses_with_short_notice_then_publishes_and_announces_the_reason(
    make_app, database_url, smtp_server, frozen, users
):
    host, port, inbox = smtp_server
    app = make_app(database_url, MIN_LEAD_DAYS=30, MAIL_SERVER=host, MAIL_PORT=port)
    with app.app_context():
        manager = users("manager@example.kz", role="manager")
        call = services.create(manager, call_data(**SHORT))
        db.session.add(Subscription(email="sub@example.kz", language="kk", confirmed_at=NOW))
        db.session.commit()
        client = app.test_client()
        token = api_login(client, "manager@example.kz", PASSWORD).json["token"]
        url = f"/api/v1/calls/{call.id}/publish"

        for lang, left, minimum in (
            ("kk", "Соңғы мерзімге дейін небәрі 21 күн қалды.", "кемінде 30 күн бұрын"),
            ("ru", "До крайнего срока подачи остался всего 21 день.", "не позднее чем за 30 дней"),
        ):
            headers = {"Authorization": f"Bearer {token}", "Accept-Language": lang}
            refused = client.post(url, headers=headers)  # no body at all, as before this issue
            assert refused.status_code == 422
            error = refused.json["error"]
            assert error["code"] == "short_notice" and "short_notice_reason" in error["fields"]
            assert left in error["message"] and minimum in error["message"]
        too_short = client.post(url, json={"short_notice_reason": "срочно"}, headers=headers)
        assert too_short.status_code == 422 and too_short.json["error"]["code"] == "short_notice"
        assert too_short.json["error"]["fields"]["short_notice_reason"] == ["Поясните подробнее: не менее 20 символов."]
        assert client.post(url, json={"short_notice_reason": 5}, headers=headers).status_code == 422
        db.session.rollback()
        assert db.session.get(Call, call.id).status == "draft" and published_events(call.id) == []
        assert inbox.messages == []

        published = client.post(url, json={"short_notice_reason": REASON}, headers=headers)
        assert published.status_code == 200
        assert published.json["status"] == "published" and published.json["short_notice_reason"] == REASON
        shown = client.get(f"/api/v1/calls/{call.id}")  # anyone
        assert shown.json["short_notice_reason"] == REASON
        assert client.get("/api/v1/calls").json["items"][0]["short_notice_reason"] == REASON

        [announcement] = inbox.wait_for(1)
        assert announcement["To"] == "sub@example.kz"
        plain = announcement.get_body(preferencelist=("plain",)).get_content()
        html = unescape(announcement.get_body(preferencelist=("html",)).get_content())
        assert f"Байқау өтінім беру мерзімі қысқартылып жарияланды: {REASON}" in plain
        assert f"Байқау өтінім беру мерзімі қысқартылып жарияланды: {REASON}" in html

        paths = client.get("/api/v1/openapi.json").json["paths"]
        body = paths["/api/v1/calls/{call_id}/publish"]["post"]["requestBody"]["content"]["application/json"]["schema"]
        assert body["properties"]["short_notice_reason"] | {"description": ""} == {
            "type": "string", "nullable": True, "maxLength": 2000, "description": ""}  # fmt: skip
        answer = paths["/api/v1/calls/{call_id}"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        assert answer["properties"]["short_notice_reason"] == {"type": "string", "nullable": True}


def test_a_call_with_enough_lead_time_needs_no_reason(site, frozen, users):
    manager = users("manager@example.kz", role="manager")
    exactly = services.create(manager, call_data(code="SG-2027-10", closes_at=(NOW + timedelta(days=30)).isoformat()))
    services.publish(manager, exactly)
    # a reason given for a call that needs none is neither stored nor shown
    later = services.create(manager, call_data(code="SG-2027-11", closes_at=(NOW + timedelta(days=45)).isoformat()))
    services.publish(manager, later, short_notice_reason=REASON)
    db.session.commit()
    client = site.test_client()
    for call in (exactly, later):
        assert db.session.get(Call, call.id).status == "published"
        assert client.get(f"/api/v1/calls/{call.id}").json["short_notice_reason"] is None
        shown = page(client.get(f"/calls/{call.id}", headers={"Accept-Language": "ru"}))
        assert "сокращённым сроком" not in shown
        assert "short_notice_reason" not in published_events(call.id)[0].after


def test_the_minimum_is_configurable(make_app, database_url, frozen, users, monkeypatch, tmp_path):
    monkeypatch.delenv("GRANTS_MIN_LEAD_DAYS", raising=False)
    assert from_environment(tmp_path)["MIN_LEAD_DAYS"] == 30
    monkeypatch.setenv("GRANTS_MIN_LEAD_DAYS", "14")
    assert from_environment(tmp_path)["MIN_LEAD_DAYS"] == 14

    app = make_app(database_url, MIN_LEAD_DAYS=7)
    with app.app_context():
        manager = users("manager@example.kz", role="manager")
        week = services.create(manager, call_data(code="SG-2027-12", **SHORT))
        services.publish(manager, week)  # 21 days ≥ 7: no reason needed
        assert week.status == "published" and week.short_notice_reason is None
        app.config["MIN_LEAD_DAYS"] = 60
        longer = services.create(
            manager, call_data(code="SG-2027-13", closes_at=(NOW + timedelta(days=45)).isoformat())
        )
        with pytest.raises(ValidationFailed) as refused:
            services.publish(manager, longer)
        assert refused.value.code == "short_notice" and "60" in refused.value.message
        db.session.rollback()
        assert db.session.get(Call, longer.id).status == "draft"
        # The time to apply counts from the opening when it is later: opening in 25 days, closing 5 later.
        app.config["MIN_LEAD_DAYS"] = 30
        late = services.create(manager, call_data(code="SG-2027-14", opens_at=(NOW + timedelta(days=25)).isoformat(),
                                                  closes_at=(NOW + timedelta(days=30, hours=1)).isoformat()))  # fmt: skip
        with pytest.raises(ValidationFailed) as refused:
            services.publish(manager, late)
        assert refused.value.code == "short_notice"
        db.session.rollback()


def test_the_demo_publishes_its_short_call_with_a_reason_at_the_default_minimum(make_app, database_url, users):
    from grants.demo import _seed_calls

    app = make_app(database_url, MIN_LEAD_DAYS=30)
    with app.app_context():
        _seed_calls(users("manager@example.kz", role="manager"))  # every publication succeeds
        calls = {c.code: c for c in db.session.execute(db.select(Call).where(Call.published_at.is_not(None))).scalars()}
        assert set(calls) == {"SG-2027-1", "SG-2027-2", "SG-2026-4"}
        assert "Консультации" in calls["SG-2027-1"].short_notice_reason
        assert calls["SG-2027-2"].short_notice_reason is None and calls["SG-2026-4"].short_notice_reason is None
        shown = page(app.test_client().get(f"/calls/{calls['SG-2027-1'].id}", headers={"Accept-Language": "ru"}))
        assert f"Конкурс объявлен с сокращённым сроком подачи заявок:</strong> {calls['SG-2027-1'].short_notice_reason}" in shown


def test_the_demo_rounds_of_past_years_were_published_with_full_lead_time(
    demo_database, pg_database, make_app, tmp_path
):
    """The seeded demo (tests seed it with MIN_LEAD_DAYS 0): every other publication kept 30 days."""
    app = make_app(demo_database("postgresql", tmp_path / "demo"))
    with app.app_context():
        calls = db.session.execute(db.select(Call).where(Call.published_at.is_not(None))).scalars().all()
        late = [c.code for c in calls if (c.closes_at - c.published_at).days < 30]
        assert len(calls) >= 5 and late == ["SG-2027-1"]
