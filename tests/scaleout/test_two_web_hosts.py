"""Scale-out: two web hosts and one worker host, each in its own network namespace, sharing only
PostgreSQL, Redis, the S3 server and SMTP over the network (DESIGN.md "Runtime": nothing is kept
on a web host's disk). Skipped with one line where namespaces cannot be made."""

from __future__ import annotations

import hashlib
import json
import os
import sys
import threading
import time
import urllib.request
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import _base_config, _Collector, _free_port, _truncate_pg
from parallel import api_token
from sqlalchemy.engine import make_url

from scaleout.hosts import Network, namespaces_unavailable, wait_until_serving

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.smtp]

PYTHON = sys.executable
WEB_HOSTS = ("web-a", "web-b")


def _request(base: str, path: str, token: str, method: str = "GET") -> tuple[int, bytes, dict]:
    request = urllib.request.Request(base + path, method=method, headers={"Authorization": f"Bearer {token}"})
    if method == "POST":
        request.data = b"{}"
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read(), dict(error.headers)


@pytest.fixture(scope="module")
def deployment(pg_database, redis_url, s3_server, tmp_path_factory):
    why = namespaces_unavailable()
    if why:
        pytest.skip(f"network namespaces cannot be made here ({why}); the scale-out test needs them")
    from aiosmtpd.controller import Controller

    from grants import create_app
    from grants.extensions import db

    _truncate_pg(pg_database)
    tmp = tmp_path_factory.mktemp("scaleout")
    inbox = _Collector()
    smtp = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    smtp.start()
    redis, prefix = redis_url
    bucket = s3_server.new_bucket()
    s3_port = make_url(s3_server.endpoint_url.replace("http://", "postgresql://")).port
    queue = f"{prefix}-scaleout-{uuid.uuid4().hex[:6]}"
    network = Network([5432, make_url(redis.replace("redis://", "postgresql://")).port or 6379, s3_port, smtp.port])
    hosts = {name: network.add_host(name) for name in (*WEB_HOSTS, "worker")}
    app = None
    try:

        def environment(host) -> dict:
            """What an operator would set on each host: every address is the network's."""
            gateway = host.gateway
            database = make_url(pg_database).set(host=gateway).render_as_string(hide_password=False)
            return {
                "PATH": os.environ["PATH"], "HOME": str(tmp), "PYTHONPATH": str(Path(__file__).parents[2]),
                "GRANTS_DATABASE_URL": database, "GRANTS_SECRET_KEY": "scale-out-test-secret",
                "GRANTS_BROKER_URL": redis.replace("127.0.0.1", gateway), "GRANTS_TASK_QUEUE": queue,
                "GRANTS_REDIS_URL": redis.replace("127.0.0.1", gateway), "GRANTS_RATELIMIT_PREFIX": queue,
                "GRANTS_STORAGE_URL": f"s3://{bucket}/grants",
                "GRANTS_S3_ENDPOINT_URL": s3_server.endpoint_url.replace("127.0.0.1", gateway),
                "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
                "GRANTS_MAIL_SERVER": gateway, "GRANTS_MAIL_PORT": str(smtp.port),
                "GRANTS_BASE_URL": "http://grants.example", "GRANTS_INSTANCE_DIR": str(tmp / host.name),
                "GRANTS_LOG_FORMAT": "json",
            }  # fmt: skip

        # The data, written from this machine as another host would: the demo (every state), plus a
        # complete draft for the open call that host A will submit.
        app = create_app(_base_config(pg_database, tmp / "seed") | {
            "STORAGE_URL": f"s3://{bucket}/grants", "S3_ENDPOINT_URL": s3_server.endpoint_url,
            "BROKER_URL": redis, "TASK_QUEUE": queue, "TASKS_EAGER": False, "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": smtp.port, "BASE_URL": "http://grants.example",
        })  # fmt: skip
        with app.app_context():
            world = _seed(app)
            db.session.remove()

        for name in WEB_HOSTS:
            host = hosts[name]
            process = host.start(
                [PYTHON, "-m", "gunicorn", "--bind", f"{host.address}:8000", "--workers", "2", "--threads", "2",
                 "--worker-class", "gthread", "grants:create_app()"],
                environment(host), tmp / f"{name}.log",
            )  # fmt: skip
            host.base = f"http://{host.address}:8000"
            host.process = process
        worker = hosts["worker"]
        for n in (1, 2):
            worker.start([PYTHON, "-m", "celery", "-A", "grants.worker", "worker", "--pool=solo", "--loglevel=WARNING",
                          "--without-gossip", "--without-mingle", "--without-heartbeat", "-Q", queue, "-n",
                          f"w{n}@scaleout"], environment(worker), tmp / f"worker-{n}.log")  # fmt: skip
        for name in WEB_HOSTS:
            wait_until_serving(hosts[name].base + "/healthz", hosts[name].process)
        yield app, hosts, inbox, world
    finally:
        network.close()
        smtp.stop()
        outputs = "\n".join(host.output() for host in hosts.values())
        if app is not None:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
        assert "Traceback" not in outputs, outputs[-6000:]


def _seed(app) -> dict:
    from applications.conftest import complete
    from conftest import org_data

    from grants import demo
    from grants.accounts import services as accounts
    from grants.accounts.models import Role, User
    from grants.applications import services as applications
    from grants.awards.models import Award
    from grants.calls.models import Call
    from grants.consortia import services as consortia
    from grants.extensions import db
    from grants.organizations import services as organizations
    from grants.organizations.bin import complete_bin

    demo.seed()
    lead = accounts.create_user(email="scale-lead@example.kz", password="Kökşetau-kölderi-2026!", name="Lead", verified=True,
                                roles={Role.APPLICANT}, locale="ru")  # fmt: skip
    partner = accounts.create_user(email="scale-partner@example.kz", password="Kökşetau-kölderi-2026!", name="Partner", verified=True,
                                   roles={Role.APPLICANT}, locale="kk")  # fmt: skip
    lead_org = organizations.create(lead, org_data(name="Шығыс ҮЕҰ", bin=complete_bin("20054000555")))
    partner_org = organizations.create(partner, org_data(name="Дала жастары", bin=complete_bin("21054000444")))
    open_call = db.session.execute(db.select(Call).filter_by(code="SG-2027-1")).scalar_one()
    consortium = consortia.create(lead, name="Шығыс консорциумы", lead_organization_id=lead_org.id,
                                  partner_organization_ids=[partner_org.id])  # fmt: skip
    consortia.respond(partner, consortium, organization_id=partner_org.id, accept=True)
    application = applications.create(lead, open_call, consortium)

    class World:
        pass

    World.lead_org, World.partner_org = lead_org, partner_org
    applications.save(lead, application, complete(World), version=application.version)
    db.session.commit()
    manager = db.session.execute(db.select(User).filter_by(email="manager@demo.kz")).scalar_one()
    awards = db.session.execute(db.select(Award).order_by(Award.id)).scalars().all()
    unissued = [award for award in awards if not award.letters]
    assert unissued, "the demo has an award whose letter is not issued yet"
    return {
        "application_id": application.id, "lead_token": api_token(app, lead), "manager_id": manager.id,
        "manager_token": api_token(app, manager), "award_id": unissued[0].id, "letter_call_id": unissued[0].application.call_id, "open_call_id": open_call.id,
        "closes_at": open_call.closes_at,
    }  # fmt: skip


def _until(condition, what: str, timeout: float = 90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        threading.Event().wait(0.2)  # polling a condition until a deadline
    raise AssertionError(f"{what}: not within {timeout} s")


def test_an_application_submitted_on_one_web_host_is_read_on_the_other(deployment):
    _app, hosts, _inbox, world = deployment
    a, b = hosts["web-a"], hosts["web-b"]
    path = f"/api/v1/applications/{world['application_id']}"
    status, body, _headers = _request(a.base, path + "/submit", world["lead_token"], method="POST")
    assert status == 200, body
    receipt = json.loads(body)
    assert receipt["status"] == "submitted" and len(receipt["sha256"]) == 64

    status, body, _headers = _request(b.base, path, world["lead_token"])
    assert status == 200, body
    seen = json.loads(body)
    assert seen["status"] == "submitted"
    assert seen.get("receipt_number", receipt["receipt_number"]) == receipt["receipt_number"]
    # A second submit, on the other host, changes nothing: the application is stored once.
    status, body, _headers = _request(b.base, path + "/submit", world["lead_token"], method="POST")
    assert status == 409, body


def test_letters_generated_on_the_worker_host_download_from_both_web_hosts(deployment):
    app, hosts, inbox, world = deployment
    from grants.awards.models import Award
    from grants.core.tasks import enqueue
    from grants.extensions import db

    with app.app_context():
        enqueue("grants.issue_letters", world["letter_call_id"], world["manager_id"])
        enqueue("grants.issue_letters", world["letter_call_id"], world["manager_id"])  # a double click
        db.session.commit()

        def issued():
            db.session.rollback()  # see the worker host's commits
            return db.session.get(Award, world["award_id"]).letters

        letters = _until(issued, "the worker host issued the letter")
        db.session.rollback()
        letters = db.session.get(Award, world["award_id"]).letters
        assert len(letters) == 1, "one letter, although the job was queued twice"
        letter = letters[0]
        expected = letter.sha256
        code = letter.verification_code
    for name in WEB_HOSTS:
        status, body, headers = _request(hosts[name].base, f"/api/v1/awards/{world['award_id']}/letter.pdf",
                                         world["manager_token"])  # fmt: skip
        assert status == 200, (name, body[:300])
        assert body.startswith(b"%PDF-") and hashlib.sha256(body).hexdigest() == expected, name
        status, body, _headers = _request(hosts[name].base, f"/verify/{code}", world["manager_token"])
        assert status == 200 and code.encode() in body, name


def test_every_message_goes_out_exactly_once_with_two_workers(deployment):
    app, _hosts, inbox, world = deployment
    from grants.alerts.models import Notification
    from grants.core.tasks import enqueue
    from grants.extensions import db

    with app.app_context():
        moment = world["closes_at"] - timedelta(days=14)
        for _twice in range(2):  # two scans of the same instant, taken by whichever worker is free
            enqueue("grants.alerts_scan", moment.isoformat())
        db.session.commit()

        def settled():
            db.session.rollback()
            rows = db.session.execute(db.select(Notification.id, Notification.status, Notification.kind,
                                                Notification.channel)).all()  # fmt: skip
            if any(status in ("claimed", "sending") for _id, status, _kind, _channel in rows):
                return None
            if not any(kind == "deadline" for _id, _status, kind, _channel in rows):
                return None
            return rows

        rows = _until(settled, "every message sent")
    sent = {f"<notification-{row_id}@grants.local>" for row_id, status, _kind, channel in rows
            if status == "sent" and channel == "email"}  # fmt: skip
    ids = Counter(message["Message-ID"] for message in inbox.messages)
    assert sent, "messages were sent"
    assert not [mid for mid, count in ids.items() if count > 1], "no message arrived twice"
    assert sent <= set(ids), "every message logged as sent arrived"
    deadline_emails = [row for row in rows if row[2] == "deadline" and row[3] == "email"]
    assert deadline_emails and all(row[1] == "sent" for row in deadline_emails)
    assert len(
        [
            m
            for m in inbox.messages
            if m["Message-ID"] in {f"<notification-{r[0]}@grants.local>" for r in deadline_emails}
        ]
    ) == len(deadline_emails)
