"""Celery bound to the Flask app (Flask's own pattern): every task runs in an app context."""

from __future__ import annotations

from pathlib import Path

from celery import Celery, Task
from flask import Flask


def celery_init_app(app: Flask) -> Celery:
    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with app.app_context():
                return self.run(*args, **kwargs)

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
