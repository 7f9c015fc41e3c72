"""The worker's entry point: builds the Flask app once and exposes its Celery app."""

from grants import create_app

flask_app = create_app()
celery = flask_app.extensions["celery"]
