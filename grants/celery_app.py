"""Celery bound to the Flask app (Flask's own pattern): every task runs in an app context, as
one unit of work: its services only flush, the task commits once when it returns and rolls
everything back when it raises; emails and tasks it queues (core.db.on_commit) leave after
that commit. (The alert sender commits its steps itself; see alerts.services.send.)"""

from __future__ import annotations

from pathlib import Path

from celery import Celery, Task
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
    transport_options: dict = {"visibility_timeout": 3600}
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
        timezone="UTC",
        beat_schedule=_beat_schedule(),
        include=["worker.tasks"],
    )
    celery.set_default()
    app.extensions["celery"] = celery
    return celery


def _beat_schedule() -> dict:
    from worker.tasks import BEAT_SCHEDULE

    return BEAT_SCHEDULE
