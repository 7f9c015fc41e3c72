"""Configuration from the environment (see DESIGN.md "Runtime")."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

from ._data import resource


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _secret_key(instance_path: Path) -> str:
    """The signing key: from the environment, else generated once into instance/."""
    key = os.environ.get("GRANTS_SECRET_KEY")
    if key:
        return key
    path = instance_path / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


def from_environment(instance_path: Path) -> dict:
    env = os.environ.get
    # Links in emails, feeds, .ics and PDFs. In production: GRANTS_BASE_URL. Unset (development,
    # `make run`): the port the app is served on (PORT, as devserver.py serves it), and inside a
    # request the address the request came to, so a newcomer's links open whatever port they chose.
    base_url = (env("GRANTS_BASE_URL") or f"http://127.0.0.1:{env('PORT') or '5000'}").rstrip("/")
    broker_dir = instance_path / "broker"
    database_url = env("GRANTS_DATABASE_URL") or f"sqlite:///{instance_path / 'grants.sqlite3'}"
    mail_server = env("GRANTS_MAIL_SERVER") or None
    return {
        "SECRET_KEY": _secret_key(instance_path),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "BASE_URL": base_url,
        "BASE_URL_FROM_REQUEST": not env("GRANTS_BASE_URL"),
        "PREFERRED_URL_SCHEME": "https" if base_url.startswith("https") else "http",
        "BROKER_URL": env("GRANTS_BROKER_URL") or "filesystem://",
        "BROKER_DIR": str(broker_dir),
        "TASK_QUEUE": env("GRANTS_TASK_QUEUE") or "grants",
        # A killed worker's task goes to another worker after this many seconds (see celery_app).
        "BROKER_VISIBILITY_TIMEOUT": int(env("GRANTS_BROKER_VISIBILITY_TIMEOUT") or 300),
        "REDIS_URL": env("GRANTS_REDIS_URL") or None,
        "RATELIMIT_STORAGE_URI": env("GRANTS_REDIS_URL") or "memory://",
        "RATELIMIT_KEY_PREFIX": env("GRANTS_RATELIMIT_PREFIX", "grants"),
        "RATELIMIT_HEADERS_ENABLED": True,
        # Redis down: count in this process's memory (a warning is logged) instead of answering 500,
        # and go back to Redis when it answers again. Short timeouts so a lost Redis cannot stall a login.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
        "RATELIMIT_STORAGE_OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        "MAIL_SERVER": mail_server,
        "MAIL_PORT": int(env("GRANTS_MAIL_PORT") or 25),
        "MAIL_USE_TLS": _bool(env("GRANTS_MAIL_USE_TLS")),
        "MAIL_USERNAME": env("GRANTS_MAIL_USERNAME") or None,
        "MAIL_PASSWORD": env("GRANTS_MAIL_PASSWORD") or None,
        "MAIL_SENDER": env("GRANTS_MAIL_SENDER") or "Grants <no-reply@grants.local>",
        "TASKS_EAGER": _bool(env("GRANTS_TASKS_EAGER")),
        "ALERT_RETRY_BASE_SECONDS": int(env("GRANTS_ALERT_RETRY_BASE_SECONDS") or 30),
        "UPLOAD_DIR": env("GRANTS_UPLOAD_DIR") or str(instance_path / "uploads"),
        # Uploads, evidence and letters (core.storage): a folder, or s3://bucket/prefix shared by every
        # host (keys from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_DEFAULT_REGION). Unset: UPLOAD_DIR.
        # The proxy in front sets X-Request-Start (nginx: proxy_set_header X-Request-Start "t=${msec}"):
        # a deadline then counts from when a request reached it (core.clock.received_at).
        "TRUST_REQUEST_START": _bool(env("GRANTS_TRUST_REQUEST_START")),
        "STORAGE_URL": env("GRANTS_STORAGE_URL") or None,
        "S3_ENDPOINT_URL": env("GRANTS_S3_ENDPOINT_URL") or None,
        "OUTBOX_DIR": env("GRANTS_OUTBOX_DIR") or str(instance_path / "outbox"),
        "TIMEZONE": env("GRANTS_TIMEZONE") or "Asia/Almaty",
        # Uploads are 10 MB at most; the request may carry a little more (form fields).
        "MAX_UPLOAD_BYTES": 10 * 1024 * 1024,
        "MAX_CONTENT_LENGTH": 10 * 1024 * 1024 + 256 * 1024,
        # A slow writer's CSRF token must not expire mid-form: it lives as long as the session.
        "WTF_CSRF_TIME_LIMIT": None,
        "WTF_I18N_ENABLED": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": base_url.startswith("https"),
        "SESSION_COOKIE_NAME": "grants_session",
        "PERMANENT_SESSION_LIFETIME": timedelta(days=14),
        "REMEMBER_COOKIE_DURATION": timedelta(days=0),
        "BABEL_DEFAULT_LOCALE": "ru",
        "BABEL_TRANSLATION_DIRECTORIES": str(resource("translations")),
        "LANGUAGES": ("kk", "ru", "en"),
        "API_TOKEN_LIFETIME": timedelta(days=30),
        "SHOW_OUTBOX": mail_server is None,
        # Telegram and SMS (grants/channels): unset, the channels page says they are not available.
        "TELEGRAM_BOT_TOKEN": env("GRANTS_TELEGRAM_BOT_TOKEN") or None,
        "TELEGRAM_BOT_USERNAME": (env("GRANTS_TELEGRAM_BOT_USERNAME") or "").lstrip("@") or None,
        "TELEGRAM_API_URL": env("GRANTS_TELEGRAM_API_URL") or "https://api.telegram.org",
        "TELEGRAM_WEBHOOK_SECRET": env("GRANTS_TELEGRAM_WEBHOOK_SECRET") or None,
        "SMS_URL": env("GRANTS_SMS_URL") or None,
        "SMS_TOKEN": env("GRANTS_SMS_TOKEN") or None,
        "SMS_SENDER": env("GRANTS_SMS_SENDER") or "Grants",
        "SMS_DAILY_LIMIT": int(env("GRANTS_SMS_DAILY_LIMIT") or 500),  # verification SMS, site-wide, per 24 hours
        # Personal data of unfunded applications' people is anonymised this many years after the call's
        # decision (accounts.personal_data.run_retention; `flask --app grants retention run`).
        "RETENTION_YEARS": int(env("GRANTS_RETENTION_YEARS") or 5),
        # A call is published at least this many days before its deadline, unless a manager gives a
        # reason, which is shown publicly (calls.services.publish).
        "MIN_LEAD_DAYS": int(env("GRANTS_MIN_LEAD_DAYS") or 30),
        # Operations (grants/ops, core/logs): "json" logs one object per line with the request id;
        # /metrics answers a bearer token or clients from these networks (CIDRs, comma-separated), else 404.
        "LOG_FORMAT": (env("GRANTS_LOG_FORMAT") or "plain").lower(),
        "LOG_LEVEL": env("GRANTS_LOG_LEVEL") or "INFO",
        "TRUST_REQUEST_ID": _bool(env("GRANTS_TRUST_REQUEST_ID"), default=True),
        "METRICS_TOKEN": env("GRANTS_METRICS_TOKEN") or None,
        "METRICS_ALLOW": [net.strip() for net in (env("GRANTS_METRICS_ALLOW") or "").split(",") if net.strip()],
        "READYZ_TIMEOUT": float(env("GRANTS_READYZ_TIMEOUT") or 1.5),
    }
