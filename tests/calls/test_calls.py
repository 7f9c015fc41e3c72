from datetime import timedelta

import feedparser
import pytest
from conftest import PASSWORD, api_login, login, post_form
from icalendar import Calendar

from calls.conftest import NOW, call_data
from grants.audit.models import AuditEvent
from grants.calls import services
from grants.calls.models import Call, Criterion
from grants.core.errors import Conflict, ValidationFailed
from grants.extensions import db


def count(model) -> int:
    return db.session.execute(db.select(db.func.count()).select_from(model)).scalar_one()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"closes_at": (NOW - timedelta(days=2)).isoformat()}, "closes_at"),
        ({"min_amount": -5}, "min_amount"),
        ({"min_amount": 6_000_000}, "max_amount"),
        ({"max_amount": 200_000_000}, "max_amount"),
        ({"title": {"en": "Only English"}}, "title"),
        ({"regions": ["atlantis"]}, "regions"),
        ({"themes": ["mining"]}, "themes"),
        ({"criteria": []}, "criteria"),
        ({"priority": {"basis": "everyone"}}, "priority.basis"),
        ({"consortium_min_members": 5, "consortium_max_members": 2}, "consortium_max_members"),
    ],
)
def test_bad_rules_are_refused_with_the_field_named_and_nothing_saved(app, frozen, manager, overrides, field):
    with pytest.raises(ValidationFailed) as refused:
        services.create(manager, call_data(**overrides))
    assert field in refused.value.fields
    db.session.rollback()
    assert count(Call) == 0 and count(Criterion) == 0


def test_weights_must_total_100(app, frozen, manager):
    rows = call_data()["criteria"]
    rows[0]["weight"] = 31
    with pytest.raises(ValidationFailed) as refused:
        services.create(manager, call_data(criteria=rows))
    assert "101" in refused.value.fields["criteria"][0]


def test_duplicate_criterion_keys_are_refused(app, frozen, manager):
    rows = call_data()["criteria"]
    rows[1]["key"] = "relevance"
    with pytest.raises(ValidationFailed) as refused:
        services.create(manager, call_data(criteria=rows))
    assert "criteria.1.key" in refused.value.fields


def test_naive_times_are_astana_time(app, frozen, manager):
    call = services.create(manager, call_data(closes_at="2027-04-01T18:00"))
    assert call.closes_at.isoformat() == "2027-04-01T13:00:00+00:00"


def test_publishing_twice_is_a_conflict(app, frozen, make_call, manager):
    call = make_call(publish=True)
    with pytest.raises(Conflict):
        services.publish(manager, call)
    db.session.rollback()
    assert db.session.get(Call, call.id).status == "published"


def test_publishing_after_the_deadline_is_refused(app, frozen, make_call, manager):
    call = make_call()
    frozen.to(call.closes_at + timedelta(minutes=1))
    with pytest.raises(ValidationFailed) as refused:
        services.publish(manager, call)
    assert refused.value.code == "deadline_in_past"
    db.session.rollback()
    assert db.session.get(Call, call.id).status == "draft"


def test_rules_are_locked_after_publication_but_wording_can_be_corrected(app, frozen, make_call, manager, client):
    call = make_call(publish=True)
    with pytest.raises(Conflict) as refused:
        services.update(manager, call, services.to_dict(call) | {"envelope": 1})
    assert refused.value.code == "rules_locked" and "envelope" in refused.value.fields
    db.session.rollback()
    assert db.session.get(Call, call.id).envelope == 100_000_000
    data = services.to_dict(call)
    data["title"] = data["title"] | {"ru": "Чистая вода (исправлено)"}
    services.update(manager, call, data)
    event = db.session.execute(db.select(AuditEvent).filter_by(action="call.corrected")).scalar_one()
    assert event.after == {"title": data["title"]}
    page = client.get(f"/calls/{call.id}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Corrected on" in page and "(исправлено)" not in page  # English page shows the English title
    assert "Clean water" in page


def test_the_call_closes_by_itself_at_closes_at(app, frozen, make_call, client):
    call = make_call(publish=True)
    frozen.to(call.closes_at - timedelta(seconds=1))
    assert client.get(f"/api/v1/calls/{call.id}").json["status"] == "published"
    assert "Clean water" in _section(client, "Open now")
    frozen.to(call.closes_at)
    assert client.get(f"/api/v1/calls/{call.id}").json["status"] == "closed"
    assert "Clean water" in _section(client, "Closed")
    assert db.session.get(Call, call.id).status == "published"  # computed on read, nothing had to run


def _section(client, heading: str) -> str:
    html = client.get("/calls", headers={"Accept-Language": "en"}).get_data(as_text=True)
    start = html.index(f"<h2>{heading}</h2>")
    end = html.find("<h2>", start + 5)
    return html[start : end if end != -1 else None]


def test_calls_list_open_first_then_upcoming_then_closed_and_filters(app, frozen, make_call, client, manager):
    make_call(publish=True, code="OPEN", regions=["kyzylorda"], themes=["water"])
    make_call(publish=True, code="SOON", opens_at=(NOW + timedelta(days=3)).isoformat(), themes=["air"])
    with_past = make_call(publish=True, code="PAST", closes_at=(NOW + timedelta(days=1)).isoformat())
    make_call(code="DRAFT")
    frozen.to(with_past.closes_at + timedelta(hours=1))
    html = client.get("/calls", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert html.index("OPEN") < html.index("SOON") < html.index("PAST")
    assert "DRAFT" not in html
    assert "OPEN" not in client.get("/calls?region=mangystau").get_data(as_text=True)
    assert "SOON" in client.get("/calls?region=mangystau").get_data(as_text=True)  # open to every region
    assert "SOON" not in client.get("/calls?theme=water").get_data(as_text=True)


def test_draft_is_hidden_from_the_public_and_applicants(app, frozen, make_call, client, users):
    call = make_call()
    assert client.get(f"/calls/{call.id}").status_code == 404
    assert client.get(f"/api/v1/calls/{call.id}").status_code == 404
    users("ngo@example.kz")
    login(client, "ngo@example.kz")
    assert client.get(f"/calls/{call.id}").status_code == 404


def test_call_page_shows_deadline_in_astana_time_with_offset_and_days_left(app, frozen, make_call, client):
    call = make_call(publish=True, closes_at="2027-03-31T18:00")
    html = client.get(f"/calls/{call.id}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "18:00 Astana time (UTC+5)" in html
    assert "closes in 31 days" in html
    assert "30 %" in html and "40 %" in html
    assert "+10 if the consortium is women-led" in html


def test_atom_feed_and_calendar_parse_with_reader_libraries(app, frozen, make_call, client):
    call = make_call(publish=True)
    make_call(code="DRAFT-1")
    feed = feedparser.parse(client.get("/calls/feed.atom").data)
    assert not feed.bozo
    assert [e.link for e in feed.entries] == [f"http://localhost/calls/{call.id}"]
    calendar = Calendar.from_ical(client.get("/calls/deadlines.ics").data)
    [event] = calendar.walk("VEVENT")
    assert event.decoded("dtstart") == call.closes_at
    one = Calendar.from_ical(client.get(f"/calls/{call.id}/deadline.ics").data)
    assert len(one.walk("VALARM")) == 2


def test_manager_adds_and_removes_criterion_rows_without_javascript(app, frozen, manager, client):
    login(client, "manager@example.kz")
    page = post_form(client, "/manage/calls/new", {"code": "X-1", "criteria-0-key": "a", "action": "add_criterion"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'name="criteria-1-key"' in html and count(Call) == 0
    page = post_form(client, "/manage/calls/new", {"criteria-0-key": "a", "criteria-1-key": "b",
                                                   "action": "remove_criterion-0"})  # fmt: skip
    html = page.get_data(as_text=True)
    assert 'name="criteria-1-key"' not in html and 'value="b"' in html


def test_manager_form_shows_errors_next_to_fields_and_saves_nothing(app, frozen, manager, client):
    login(client, "manager@example.kz")
    client.get("/language/en")
    response = post_form(client, "/manage/calls/new", {
        "code": "X-1", "title_ru": "Т", "envelope": "100", "min_amount": "10", "max_amount": "50",
        "opens_at": "2027-03-01T10:00", "closes_at": "2027-04-01T18:00",
        "criteria-0-key": "a", "criteria-0-title_ru": "А", "criteria-0-weight": "60", "criteria-0-max_score": "10",
        "action": "save",
    }, headers={"Accept-Language": "en"})  # fmt: skip
    assert response.status_code == 422
    assert "must total 100" in response.get_data(as_text=True)
    assert count(Call) == 0


def test_api_creates_patches_and_publishes(app, frozen, manager, client, users):
    token = api_login(client, "manager@example.kz", PASSWORD).json["token"]
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}
    bad = client.post("/api/v1/calls", json=call_data(criteria=[{"key": "a", "title": {"ru": "А"}, "weight": 50,
                                                                 "max_score": 10}]), headers=headers)  # fmt: skip
    assert bad.status_code == 422 and "criteria" in bad.json["error"]["fields"]
    created = client.post("/api/v1/calls", json=call_data(), headers=headers)
    assert created.status_code == 201 and created.json["status"] == "draft"
    call_id = created.json["id"]
    patched = client.patch(f"/api/v1/calls/{call_id}", json={"envelope": 90_000_000}, headers=headers)
    assert patched.status_code == 200 and patched.json["envelope"] == 90_000_000
    assert client.get("/api/v1/calls").json["total"] == 0  # anonymous: drafts are not listed
    published = client.post(f"/api/v1/calls/{call_id}/publish", headers=headers)
    assert published.status_code == 200 and published.json["status"] == "published"
    assert client.post(f"/api/v1/calls/{call_id}/publish", headers=headers).status_code == 409
    locked = client.patch(f"/api/v1/calls/{call_id}", json={"max_awards": 3}, headers=headers)
    assert locked.status_code == 409 and locked.json["error"]["code"] == "rules_locked"
    users("ngo@example.kz")
    ngo = api_login(client, "ngo@example.kz", PASSWORD).json["token"]
    assert (
        client.post("/api/v1/calls", json=call_data(code="Z"), headers={"Authorization": f"Bearer {ngo}"}).status_code
        == 404
    )


def test_managers_edit_the_theme_list(app, manager, client):
    login(client, "manager@example.kz")
    bad = post_form(client, "/manage/themes", {"code": "Soil!", "name_kk": "", "name_ru": "Почвы", "name_en": "Soil"})
    assert bad.status_code == 422
    ok = post_form(client, "/manage/themes", {"code": "soil", "name_kk": "Топырақ", "name_ru": "Почвы", "name_en": "Soil",
                                              "position": "7"})  # fmt: skip
    assert ok.status_code == 302
    client.get("/language/kk")
    assert "Топырақ" in client.get("/calls").get_data(as_text=True)  # offered in the filter at once
    from grants.calls.models import Theme

    assert db.session.get(Theme, "soil").name("kk") == "Топырақ"
