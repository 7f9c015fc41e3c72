"""Delivery faults against a real SMTP server (aiosmtpd) answering 4xx, 5xx or not at all."""

import socket
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from conftest import _Collector, call_data

from grants.alerts import services
from grants.alerts.models import Notification
from grants.calls import services as calls
from grants.extensions import db
from grants.subscriptions.models import Subscription


class Moody(_Collector):
    """Answers 451 to the first `busy` messages, 550 for addresses starting with "bounce"."""

    def __init__(self, busy: int = 0):
        super().__init__()
        self.busy = busy

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address.startswith("bounce"):
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if self.busy > 0:
            self.busy -= 1
            return "451 4.3.0 Try again later"
        return await super().handle_DATA(server, session, envelope)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def moody(request):
    handler = Moody(busy=getattr(request, "param", 0))
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller.port, handler
    controller.stop()


@pytest.fixture
def due(make_app, database_url, frozen, users):
    """A call 30 days from its deadline with subscribers; returns (make_app_for_port, call)."""

    def build(port: int, *emails):
        app = make_app(database_url, MAIL_SERVER="127.0.0.1", MAIL_PORT=port, ALERT_RETRY_BASE_SECONDS=1)
        ctx = app.app_context()
        ctx.push()
        manager = users("manager@example.kz", role="manager")
        call = calls.create(manager, call_data(closes_at=(frozen.moment + timedelta(days=60)).isoformat()))
        calls.publish(manager, call)
        for email in emails:
            db.session.add(Subscription(email=email, language="ru", confirmed_at=frozen.moment))
        db.session.commit()
        frozen.to(call.closes_at - timedelta(days=30))
        build.contexts.append(ctx)
        return app, call

    build.contexts = []
    yield build
    for ctx in reversed(build.contexts):
        ctx.pop()


@pytest.mark.parametrize("moody", [1], indirect=True)
def test_a_4xx_then_2xx_answer_is_sent_once(due, moody, frozen):
    port, handler = moody
    app, call = due(port, "a@example.kz")
    [note_id] = services.scan(frozen.moment).claimed
    with pytest.raises(services.RetryLater):
        services.send(note_id)
    note = db.session.get(Notification, note_id)
    assert note.status == "claimed" and "451" in note.error and note.next_attempt_at > frozen.moment
    assert services.send(note_id) == "sent"
    assert services.send(note_id) == "sent"  # a duplicate task does nothing
    assert len(handler.messages) == 1


def test_a_bounced_address_is_marked_and_not_retried(due, moody, frozen):
    port, handler = moody
    app, call = due(port, "bounce@example.kz", "ok@example.kz")
    claimed = services.scan(frozen.moment).claimed
    statuses = sorted(services.send(i) for i in claimed)
    assert statuses == ["bounced", "sent"]
    bounced = db.session.execute(db.select(Notification).filter_by(status="bounced")).scalar_one()
    assert "550" in bounced.error
    frozen.to(frozen.moment + timedelta(hours=2))
    assert services.sweep(frozen.moment) == []  # not retried forever


def test_an_unreachable_smtp_server_retries_then_fails_visibly(due, frozen):
    app, call = due(free_port(), "a@example.kz")  # nothing listens there
    [note_id] = services.scan(frozen.moment).claimed
    for _attempt in range(services.MAX_ATTEMPTS - 1):
        with pytest.raises(services.RetryLater):
            services.send(note_id)
    assert services.send(note_id) == "failed"
    note = db.session.get(Notification, note_id)
    assert note.attempts == services.MAX_ATTEMPTS and "Connection" in note.error
    assert [n.status for n in db.session.execute(db.select(Notification).filter_by(kind="deadline")).scalars()] == [
        "failed"
    ]


def test_backoff_grows_exponentially(app):
    app.config["ALERT_RETRY_BASE_SECONDS"] = 30
    assert [services.backoff(n) for n in (1, 2, 3, 4, 10)] == [30, 60, 120, 240, 3600]
