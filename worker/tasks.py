"""Thin tasks: they take plain data and call grants services."""

from __future__ import annotations

import smtplib

from celery import shared_task


@shared_task(
    name="grants.send_email",
    autoretry_for=(smtplib.SMTPException, ConnectionError, TimeoutError),
    retry_backoff=30,
    retry_backoff_max=1800,
    retry_jitter=True,
    max_retries=8,
)
def send_email(message: dict) -> None:
    from grants.mail import deliver

    deliver(message)


@shared_task(name="grants.ping")
def ping(value: str) -> str:
    """A health check: the worker pushes the value to a Redis list (`<prefix>:ping`), where
    a monitor (or a test) can wait for it."""
    from flask import current_app

    url = current_app.config.get("REDIS_URL")
    if url:
        import redis

        key = f"{current_app.config['RATELIMIT_KEY_PREFIX']}:ping"
        client = redis.Redis.from_url(url)
        client.lpush(key, value)
        client.expire(key, 300)
    return value


@shared_task(name="grants.announce_call", acks_late=True)
def announce_call(call_id: int) -> int:
    from grants.alerts.services import announce_call as announce

    return announce(call_id)
