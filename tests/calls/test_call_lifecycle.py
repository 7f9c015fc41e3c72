"""The call's one lifecycle: draft → published → closed (by the clock) → in_review → decided →
archived, each change checked under the row lock, audited once, and asked through predicates."""

from datetime import timedelta

import pytest
from conftest import _truncate_pg, call_data, login, post_form
from parallel import api_token, fire

from grants.audit.models import AuditEvent
from grants.calls import lifecycle, rules, services
from grants.calls.lifecycle import Status
from grants.calls.models import Call
from grants.core.errors import Conflict
from grants.extensions import db


def actions(call) -> list[str]:
    return list(
        db.session.execute(
            db.select(AuditEvent.action)
            .where(
                AuditEvent.object_type == "call", AuditEvent.object_id == call.id, AuditEvent.action != "call.created"
            )
            .order_by(AuditEvent.id)
        ).scalars()
    )


def test_a_call_moves_only_along_its_lifecycle_and_each_step_is_audited_once(app, frozen, manager, make_call):
    call = make_call()
    with pytest.raises(Conflict) as early:
        services.advance(manager, call, Status.IN_REVIEW)  # a draft cannot be reviewed
    assert early.value.code == "invalid_transition"
    services.publish(manager, call)
    assert call.published_at == frozen.moment
    with pytest.raises(Conflict):
        services.publish(manager, call)  # a double click: refused, not published twice
    with pytest.raises(Conflict):
        services.advance(manager, call, Status.IN_REVIEW)  # still open: the review waits for closes_at
    assert lifecycle.effective_status(call) == Status.PUBLISHED and not lifecycle.can(call, Status.IN_REVIEW)
    frozen.to(call.closes_at)
    assert lifecycle.effective_status(call) == Status.CLOSED  # closed by the clock, nothing written
    assert call.status == Status.PUBLISHED and lifecycle.can(call, Status.IN_REVIEW)
    services.advance(manager, call, Status.IN_REVIEW)
    services.advance(manager, call, Status.DECIDED)
    assert call.decided_at == frozen.moment
    services.advance(manager, call, Status.ARCHIVED)
    with pytest.raises(Conflict):
        services.advance(manager, call, Status.DECIDED)  # archived is the end
    db.session.expire_all()
    assert db.session.get(Call, call.id).status == Status.ARCHIVED
    assert actions(call) == ["call.published", "call.in_review", "call.decided", "call.archived"]


def test_the_machine_table_is_written_in_effective_statuses(app):
    assert lifecycle.TRANSITIONS == {
        (Status.DRAFT, Status.PUBLISHED), (Status.CLOSED, Status.IN_REVIEW),
        (Status.IN_REVIEW, Status.DECIDED), (Status.DECIDED, Status.ARCHIVED),
    }  # fmt: skip
    # what the column holds: "closed" is never written
    assert lifecycle.machine.target(Status.PUBLISHED, Status.IN_REVIEW) == Status.IN_REVIEW
    assert Status.CLOSED not in lifecycle.STORED


def test_predicates_follow_the_lifecycle(app, frozen, manager, users, make_call):
    applicant = users("applicant@example.kz")
    call = make_call()
    assert rules.can_see(manager, call) and not rules.can_see(applicant, call) and not rules.can_see(None, call)
    assert rules.can_publish(manager, call) and not rules.can_publish(applicant, call)
    assert rules.can_edit_rules(manager, call) and not rules.can_apply(None, call)
    services.publish(manager, call)
    assert rules.can_see(None, call) and rules.can_apply(None, call) and rules.can_see_countdown(None, call)
    assert not rules.can_edit_rules(manager, call) and rules.can_edit(manager, call)  # wording only
    assert not rules.can_publish(manager, call) and not rules.can_assess(applicant, call)
    frozen.to(call.closes_at + timedelta(minutes=1))
    assert not rules.can_apply(None, call) and not rules.can_see_countdown(None, call)
    assert rules.can_advance(manager, call, Status.IN_REVIEW) and not rules.can_see_results(None, call)
    services.advance(manager, call, Status.IN_REVIEW)
    services.advance(manager, call, Status.DECIDED)
    assert rules.can_see_results(None, call)


def test_pages_show_what_the_predicates_allow(app, client, frozen, manager, make_call):
    call = make_call(publish=True)
    page = client.get(f"/calls/{call.id}").get_data(as_text=True)
    assert f"/calls/{call.id}/apply" in page and f"/calls/{call.id}/results" not in page
    frozen.to(call.closes_at + timedelta(hours=1))
    page = client.get(f"/calls/{call.id}").get_data(as_text=True)
    assert f"/calls/{call.id}/apply" not in page  # closed: no Apply button
    services.advance(manager, call, Status.IN_REVIEW)
    services.advance(manager, call, Status.DECIDED)
    page = client.get(f"/calls/{call.id}").get_data(as_text=True)
    assert f"/calls/{call.id}/results" in page and f"/manage/calls/{call.id}" not in page  # no Edit for visitors


def test_the_manage_page_offers_the_next_step_only_and_a_refused_step_changes_nothing(app, client, frozen, manager,
                                                                                      make_call):  # fmt: skip
    call = make_call(publish=True)
    login(client, manager.email)
    page = client.get(f"/manage/calls/{call.id}").get_data(as_text=True)
    assert 'name="to" value="in_review"' not in page and 'name="to" value="published"' not in page
    refused = post_form(
        client, f"/manage/calls/{call.id}/status", {"to": "in_review"}, form_url=f"/manage/calls/{call.id}"
    )
    assert refused.status_code == 409
    db.session.expire_all()
    assert db.session.get(Call, call.id).status == Status.PUBLISHED and actions(call) == ["call.published"]
    frozen.to(call.closes_at + timedelta(hours=1))
    login(client, manager.email)  # weeks later: a manager's session has ended (12 hours at most)
    page = client.get(f"/manage/calls/{call.id}").get_data(as_text=True)
    assert 'name="to" value="in_review"' in page
    done = post_form(
        client, f"/manage/calls/{call.id}/status", {"to": "in_review"}, form_url=f"/manage/calls/{call.id}"
    )
    assert done.status_code == 302
    db.session.expire_all()
    assert db.session.get(Call, call.id).status == Status.IN_REVIEW


def test_ten_managers_publishing_at_once_publish_once_and_announce_once(make_app, pg_database, live_server):
    from grants.accounts import services as accounts
    from grants.accounts.models import Role
    from grants.alerts.models import Notification
    from grants.core import clock
    from grants.subscriptions.models import Subscription

    _truncate_pg(pg_database)
    app = make_app(pg_database)
    with app.app_context():
        manager = accounts.create_user(email="m@example.kz", password="correct-horse-42", name="M",
                                       roles={Role.MANAGER}, verified=True)  # fmt: skip
        db.session.add(Subscription(email="reader@example.kz", language="kk", confirmed_at=clock.now()))
        db.session.commit()
        start = clock.now()
        call = services.create(manager, call_data(opens_at=(start - timedelta(days=1)).isoformat(),
                                                  closes_at=(start + timedelta(days=30)).isoformat()))  # fmt: skip
        call_id = call.id
    token = api_token(app, manager)
    results = fire(live_server(app), [("POST", f"/api/v1/calls/{call_id}/publish", token, None)] * 10)
    assert sorted(r.status for r in results) == [200] + [409] * 9, [(r.status, r.body) for r in results]
    assert {r.code for r in results if r.status == 409} == {"invalid_transition"}
    with app.app_context():
        published = db.session.execute(
            db.select(db.func.count()).where(AuditEvent.action == "call.published", AuditEvent.object_id == call_id)
        ).scalar_one()
        notes = db.session.execute(db.select(Notification.kind, Notification.recipient)).all()
    assert published == 1
    assert notes == [("announcement", "reader@example.kz")]
