import pytest
from conftest import link_in, post_form, read_outbox

from calls.conftest import call_data
from grants.alerts.models import Notification
from grants.alerts.services import announce_call
from grants.calls import services as calls
from grants.core.errors import ValidationFailed
from grants.extensions import db
from grants.subscriptions import services
from grants.subscriptions.models import Subscription


def confirm_last(client, app):
    path = link_in(read_outbox(app)[-1], "/subscriptions/confirm/").replace("http://localhost", "")
    assert client.get(path).status_code == 200


def test_double_opt_in_then_one_announcement_with_unsubscribe_headers(app, client, frozen, manager):
    response = post_form(client, "/subscribe", {"email": "Sub@Example.kz", "language": "kk", "regions": ["kyzylorda"]})
    assert response.status_code == 202
    pending = calls.create(manager, call_data(code="EARLY"))
    calls.publish(manager, pending)
    assert [m["To"] for m in read_outbox(app)] == ["sub@example.kz"]  # only the confirmation link so far
    confirm_last(client, app)
    call = calls.create(manager, call_data(code="SG-1", regions=["kyzylorda", "aktobe"]))
    calls.publish(manager, call)
    announcement = read_outbox(app)[-1]
    assert announcement["To"] == "sub@example.kz"
    assert announcement["List-Unsubscribe"].strip().startswith("<http://localhost/unsubscribe/")
    assert announcement["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "Астана уақытымен" in announcement.get_body(preferencelist=("plain",)).get_content()
    # A retried task or a second worker claims nothing new: exactly one email, one row.
    assert announce_call(call.id) == 0
    rows = db.session.execute(db.select(Notification).filter_by(object_id=call.id)).scalars().all()
    assert [(r.recipient, r.status) for r in rows] == [("sub@example.kz", "sent")]
    assert len(read_outbox(app)) == 2


def test_one_click_unsubscribe_needs_no_csrf_and_stops_emails(app, client, frozen, manager):
    services.subscribe(email="u@example.kz", language="ru")
    confirm_last(client, app)
    sub = db.session.execute(db.select(Subscription)).scalar_one()
    url = services.unsubscribe_url(sub).replace("http://localhost", "")
    assert client.get(url).status_code == 200  # shows a confirm button for people clicking the link
    response = client.post(url, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    calls.publish(manager, calls.create(manager, call_data()))
    assert all("Чистая вода" not in (m["Subject"] or "") for m in read_outbox(app))
    assert client.post(url.replace("/unsubscribe/", "/unsubscribe/x")).status_code == 400


@pytest.mark.parametrize(
    ("sub_regions", "sub_themes", "call_regions", "call_themes", "matches"),
    [
        ([], [], ["aktobe"], ["air"], True),
        (["kyzylorda"], [], [], ["air"], True),  # a call open to all regions matches everyone
        (["kyzylorda"], [], ["aktobe"], [], False),
        (["aktobe"], ["water"], ["aktobe"], ["air", "water"], True),
        (["aktobe"], ["water"], ["aktobe"], ["air"], False),
        (["aktobe"], ["water"], ["aktobe"], [], True),  # a call without themes matches every theme
    ],
)
def test_matching_by_region_and_theme(
    app, frozen, manager, sub_regions, sub_themes, call_regions, call_themes, matches
):
    services.subscribe(email="m@example.kz", language="en", regions=sub_regions, themes=sub_themes)
    sub = db.session.execute(db.select(Subscription)).scalar_one()
    sub.confirmed_at = frozen.moment
    db.session.commit()
    call = calls.create(manager, call_data(regions=call_regions, themes=call_themes))
    found = db.session.execute(services.matching_query(call)).scalars().all()
    assert (found == [sub]) is matches


def test_resubscribing_a_confirmed_address_waits_for_its_owner(app, client, frozen):
    services.subscribe(email="o@example.kz", language="ru", regions=["aktobe"])
    confirm_last(client, app)
    services.subscribe(email="o@example.kz", language="kk", regions=["atyrau"])
    sub = db.session.execute(db.select(Subscription)).scalar_one()
    assert sub.regions == ["aktobe"] and sub.language == "ru"
    confirm_last(client, app)
    db.session.expire_all()
    sub = db.session.execute(db.select(Subscription)).scalar_one()
    assert sub.regions == ["atyrau"] and sub.language == "kk"


def test_bad_subscription_input_is_refused(app, client):
    with pytest.raises(ValidationFailed) as refused:
        services.subscribe(email="not-an-email", language="fr", regions=["mars"])
    assert set(refused.value.fields) == {"email", "language", "regions"}
    db.session.rollback()
    response = client.post("/api/v1/subscriptions", json={"email": "a@example.kz", "language": "kk", "themes": "air"})
    assert response.status_code == 422
    ok = client.post("/api/v1/subscriptions", json={"email": "a@example.kz", "language": "kk", "themes": ["air"]})
    assert ok.status_code == 202
    assert db.session.execute(db.select(db.func.count(Subscription.id))).scalar_one() == 1
