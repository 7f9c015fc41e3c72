"""Old command lines (`celery -A worker.app worker`) keep working; the worker is `grants.worker`."""
