"""Kept for old command lines: `celery -A worker.app worker` is `celery -A grants.worker worker`."""

from grants.worker import celery, flask_app

__all__ = ["celery", "flask_app"]
