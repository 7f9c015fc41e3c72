"""The worker's entry point: builds the Flask app once and exposes its Celery app.

    celery -A grants.worker worker --loglevel=INFO
    celery -A grants.worker beat

Nothing in grants imports this module: services queue tasks by name (grants.core.tasks)."""

from grants import create_app

flask_app = create_app()
celery = flask_app.extensions["celery"]
