"""The task registry (grants.core.tasks) and the broker settings that let a killed worker's tasks
resume within minutes."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

import redis

from grants.core.tasks import enqueue, enqueue_after_commit
from grants.extensions import db

from .conftest import free_port


def test_a_killed_workers_task_is_delivered_again_within_minutes(make_app, tmp_path, monkeypatch):
    from grants import config

    monkeypatch.setenv("GRANTS_BROKER_VISIBILITY_TIMEOUT", "90")
    assert config.from_environment(tmp_path)["BROKER_VISIBILITY_TIMEOUT"] == 90
    monkeypatch.delenv("GRANTS_BROKER_VISIBILITY_TIMEOUT")
    assert config.from_environment(tmp_path)["BROKER_VISIBILITY_TIMEOUT"] == 300  # not Redis's hour

    conf = make_app(f"sqlite:///{tmp_path}/a.sqlite3", BROKER_URL="redis://127.0.0.1:6379/15").extensions["celery"].conf
    assert (conf.task_acks_late, conf.task_reject_on_worker_lost, conf.worker_prefetch_multiplier) == (True, True, 1)
    options = conf.broker_transport_options
    assert options["visibility_timeout"] == 300
    assert options["unacked_restore_interval"] * options["unacked_restore_throttle"] <= 30  # looked for twice a minute
    assert conf.beat_schedule["alerts-sweep"]["schedule"] == timedelta(seconds=150)

    short = make_app(f"sqlite:///{tmp_path}/b.sqlite3", BROKER_URL="redis://127.0.0.1:6379/15",
                     BROKER_VISIBILITY_TIMEOUT=60)  # fmt: skip
    assert short.extensions["celery"].conf.broker_transport_options["visibility_timeout"] == 60
    assert short.extensions["celery"].conf.beat_schedule["alerts-sweep"]["schedule"] == timedelta(seconds=60)


def test_a_task_queued_after_commit_leaves_with_the_commit_and_never_on_rollback(make_app, database_url, redis_url):
    url, prefix = redis_url
    app = make_app(database_url, REDIS_URL=url, RATELIMIT_KEY_PREFIX=f"{prefix}-{uuid.uuid4().hex[:6]}")
    pings = redis.Redis.from_url(url)
    key = f"{app.config['RATELIMIT_KEY_PREFIX']}:ping"
    with app.app_context():
        enqueue_after_commit("grants.ping", "kept")
        assert pings.llen(key) == 0  # not before the commit
        db.session.commit()
        db.session.execute(db.select(db.literal(1)))  # a transaction under way, as a service's writes start one
        enqueue_after_commit("grants.ping", "dropped")
        db.session.rollback()
        db.session.commit()
        enqueue("grants.ping", "now")  # no transaction to wait for
    assert [v.decode() for v in pings.lrange(key, 0, -1)] == ["now", "kept"]


def test_a_broker_down_after_the_commit_is_logged_not_raised(make_app, tmp_path, caplog):
    app = make_app(f"sqlite:///{tmp_path}/c.sqlite3", BROKER_URL=f"redis://127.0.0.1:{free_port()}/0",
                   TASKS_EAGER=False)  # fmt: skip
    with app.app_context(), caplog.at_level(logging.WARNING):
        enqueue_after_commit("grants.send_notification", 1)
        db.session.commit()  # the change is committed whatever the broker says
    assert any("grants.send_notification" in r.getMessage() for r in caplog.records)
