"""The task registry: services queue Celery tasks by name, never by importing a task module (the
tasks live in `grants.tasks`, run by `grants.worker`; the web process only needs their names)."""

from __future__ import annotations

import logging

from flask import current_app

from .db import on_commit

log = logging.getLogger(__name__)


def task(name: str):
    """The task registered under `name` in this app's Celery ("grants.send_notification")."""
    return current_app.extensions["celery"].tasks[name]


def enqueue(name: str, *args, **options):
    """Queue the task now (`options` as for `apply_async`: countdown, queue, …); inline when
    TASKS_EAGER. A broker that refuses raises: the caller decides what to tell the person."""
    if options:
        return task(name).apply_async(args, **options)
    return task(name).delay(*args)


def enqueue_after_commit(name: str, *args) -> None:
    """Queue the task once the current transaction commits (dropped on rollback). The commit has
    happened by then, so a broker that refuses is logged, not raised: whatever the task was to do
    is already recorded (a claimed notification waits for the sweep)."""

    def send() -> None:
        from flask import g, has_request_context

        if has_request_context() and getattr(g, "_broker_failed", False):
            # The broker already failed in this request: each further try would cost seconds more.
            log.warning("broker down: %s%r not queued; it waits for the sweep", name, args)
            return
        try:
            enqueue(name, *args)
        except Exception:  # noqa: BLE001  (any broker failure: the committed work must not be reported as failed)
            if current_app.config.get("TASKS_EAGER"):
                raise  # inline, the error is the task's own: tests and the demo must see it
            if has_request_context():
                g._broker_failed = True
            log.warning("could not queue %s%r after commit; it waits for the sweep", name, args, exc_info=True)

    on_commit(send)
