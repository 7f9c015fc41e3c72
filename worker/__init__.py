"""Celery worker: `celery -A worker.app worker -B` (see the Makefile)."""
