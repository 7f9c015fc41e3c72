"""Celery bound to the Flask app (Flask's own pattern): every task runs in an app context, as
one unit of work: its services only flush, the task commits once when it returns and rolls
everything back when it raises; emails and tasks it queues (core.db.on_commit) leave after
that commit. (The alert sender commits its steps itself; see alerts.services.send.)

A worker killed mid-task (SIGKILL, a lost host) must not lose it: tasks are acknowledged only
when they finish (`acks_late`, `reject_on_worker_lost`), so the broker keeps the message and hands
it to another worker once BROKER_VISIBILITY_TIMEOUT has passed (minutes, not Redis's default
hour). Every task is therefore idempotent (see grants.tasks), and no task runs or waits (a
retry's countdown) longer than that timeout."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from celery import Celery, Task
from celery.schedules import crontab
from flask import Flask


def celery_init_app(app: Flask) -> Celery:
    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            from .core.db import begin_unit, end_unit

            with app.app_context():
                begin_unit()
                try:
                    result = self.run(*args, **kwargs)
                except BaseException:
                    end_unit(success=False)
                    raise
                end_unit(success=True)
                return result

    broker = app.config["BROKER_URL"]
    visibility = int(app.config["BROKER_VISIBILITY_TIMEOUT"])
    transport_options: dict = {
        "visibility_timeout": visibility,
        # How often a worker looks for messages whose worker died (kombu's default is every 100 s).
        "unacked_restore_interval": max(1, min(30, visibility // 10)),
        "unacked_restore_throttle": 1,
        # A broker that is down or unreachable: a web request hands its task over in at most a few
        # seconds and goes on (the committed work waits for the sweep), instead of hanging.
        # A broker that stops answering on an open connection (a partition, a paused server) fails the
        # hand-over after a few seconds too. Above the worker's 1 s BRPOP poll, so idle workers are fine.
        "socket_connect_timeout": 2,
        "socket_timeout": 5,
        "socket_keepalive": True,
    }
    if broker.startswith("filesystem"):
        # The embedded broker: queues are files under instance/broker, no server needed.
        folder = Path(app.config["BROKER_DIR"])
        for sub in ("queue", "processed", "control"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        transport_options = {
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "processed_folder": str(folder / "processed"),
            "control_folder": str(folder / "control"),
            "store_processed": False,
        }
    celery = Celery(app.name, task_cls=FlaskTask)
    celery.conf.update(
        broker_url=broker,
        broker_transport_options=transport_options,
        result_backend=None,
        task_ignore_result=True,
        task_default_queue=app.config["TASK_QUEUE"],
        task_always_eager=app.config["TASKS_EAGER"],
        task_eager_propagates=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=2,
        task_publish_retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5},
        timezone="UTC",
        beat_schedule=beat_schedule(visibility),
        include=["grants.tasks"],
    )
    celery.set_default()
    from . import tasks  # noqa: F401  (registers the tasks, so the registry finds them by name)

    app.extensions["celery"] = celery
    return celery


def beat_schedule(visibility_timeout: int) -> dict:
    """The periodic tasks. The sweep of stuck notification claims runs at half the visibility
    timeout, and treats a claim as stuck after the timeout (alerts.services.sweep), so a message
    whose worker died goes out within about 1.5 × BROKER_VISIBILITY_TIMEOUT."""
    return {
        "alerts-scan": {"task": "grants.alerts_scan", "schedule": crontab(minute="*/15")},
        "alerts-sweep": {
            "task": "grants.alerts_sweep",
            "schedule": timedelta(seconds=max(60, visibility_timeout // 2)),
        },
        "retention-run": {"task": "grants.retention_run", "schedule": crontab(hour="2", minute="43")},
        "sessions-purge": {"task": "grants.sessions_purge", "schedule": crontab(minute="23")},
        "storage-orphans": {"task": "grants.storage_orphans", "schedule": crontab(hour="3", minute="17")},
    }
