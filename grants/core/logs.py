"""Logs with a request id: one JSON object per line when GRANTS_LOG_FORMAT=json (production, read by
a log shipper), plain text otherwise (`make run`). Every request gets an id: the trusted
`X-Request-Id` the proxy sent (sanitised, at most 64 characters) or a new one; it is returned in the
response's `X-Request-Id`, printed on the request's one access line and on every line logged while
the request runs, and travels with the Celery tasks the request queues (a message header), so the
worker's lines for that task carry the same id.

Never logged: query strings, passwords, tokens (path parts named token/secret/code are masked,
`Bearer …` and `password=…` are blanked) and email addresses (replaced by `<email>`)."""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime

from flask import Flask, g, has_request_context, request

ENVIRON_KEY = "grants.request_id"
STARTED_KEY = "grants.request_started"
MAX_LENGTH = 64
_UNSAFE = re.compile(r"[^A-Za-z0-9._:/+=-]")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_SECRETS = re.compile(r"(?i)\b(bearer\s+|password[\"']?\s*[:=]\s*[\"']?|token[\"']?\s*[:=]\s*[\"']?)[^\s\"',;&]+")
SENSITIVE_ARGS = frozenset({"token", "secret", "code", "key"})

# The id of the task a worker runs (set and cleared by the Celery signals below), and that task's own id.
_task_request_id: ContextVar[str | None] = ContextVar("grants_task_request_id", default=None)
_task_id: ContextVar[str | None] = ContextVar("grants_task_id", default=None)

access_log = logging.getLogger("grants.access")
task_log = logging.getLogger("grants.tasks")


def sanitise(value: str | None) -> str | None:
    """A client's id kept only in safe characters and at most MAX_LENGTH long; None when nothing is left."""
    if not value:
        return None
    cleaned = _UNSAFE.sub("", value)[:MAX_LENGTH]
    return cleaned or None


def new_request_id() -> str:
    return uuid.uuid4().hex


def request_id() -> str | None:
    """The current request's id (taken from the trusted header or made on first use), or inside a
    Celery task the id of the request that queued it; None elsewhere (a CLI command, beat)."""
    task_id = _task_request_id.get()
    if task_id:
        return task_id
    if not has_request_context():
        return None
    environ = request.environ
    rid = environ.get(ENVIRON_KEY)
    if rid is None:
        from flask import current_app

        trusted = current_app.config.get("TRUST_REQUEST_ID", True)
        rid = (sanitise(request.headers.get("X-Request-Id")) if trusted else None) or new_request_id()
        environ[ENVIRON_KEY] = rid  # on the request, not `g`: a task run inline pushes its own app context
    return rid


def scrub(text: str) -> str:
    return _EMAIL.sub("<email>", _SECRETS.sub(lambda m: m.group(1) + "***", text))


def safe_path() -> str:
    """The request's path without its query string, with token-like parts masked."""
    path = request.path
    for name, value in (request.view_args or {}).items():
        if name in SENSITIVE_ARGS and value:
            path = path.replace(str(value), f"<{name}>")
    return scrub(path)


class RequestIdFilter(logging.Filter):
    """Puts `request_id` on every record (for plain formats: `%(request_id)s`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = request_id() or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, request_id, and when
    known method, path, status, duration_ms, user_id (and for tasks: task, task_id)."""

    FIELDS = ("method", "path", "route", "status", "duration_ms", "user_id", "task", "task_id", "state")

    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created, UTC)
        entry: dict = {
            "time": moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": scrub(record.getMessage()),
            "request_id": _known(getattr(record, "request_id", None)) or request_id(),
        }
        if has_request_context() and not hasattr(record, "method"):
            entry["method"], entry["path"] = request.method, safe_path()
        if _task_id.get() and not hasattr(record, "task_id"):
            entry["task_id"] = _task_id.get()
        for name in self.FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = scrub(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


def _known(value: str | None) -> str | None:
    return None if value in (None, "-") else value


PLAIN_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"
_HANDLER_MARK = "_grants_log_handler"


def configure_logging(fmt: str = "json", *, level: str = "INFO", stream=None) -> logging.Handler:
    """Replace the root logger's handlers with one writing `fmt` ("json" or "plain") to `stream`
    (stderr). Called once per process (web worker or Celery worker)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    setattr(handler, _HANDLER_MARK, True)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(PLAIN_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    return handler


# --- the request's id and access line ------------------------------------------------------------


def _start() -> None:
    request.environ[STARTED_KEY] = time.perf_counter()
    request_id()


def elapsed_ms() -> float | None:
    started = request.environ.get(STARTED_KEY)
    return None if started is None else round((time.perf_counter() - started) * 1000, 1)


def _finish(response):
    rid = request_id()
    response.headers["X-Request-Id"] = rid
    if not access_log.isEnabledFor(logging.INFO):
        return response
    user = g.get("_login_user")  # as the request loaded it: logging never loads a user itself
    user_id = getattr(user, "id", None) if getattr(user, "is_authenticated", False) else None
    path = safe_path()
    duration = elapsed_ms()
    access_log.info(
        "%s %s %s %sms", request.method, path, response.status_code, duration,
        extra={"request_id": rid, "method": request.method, "path": path, "status": response.status_code,
               "duration_ms": duration, "user_id": user_id,
               "route": request.url_rule.rule if request.url_rule else None},
    )  # fmt: skip
    return response


# --- Celery: the id travels in the task message's headers ------------------------------------------

_celery_connected = False


def _before_publish(sender=None, headers=None, **kwargs):
    rid = request_id()
    if rid and headers is not None and not headers.get("request_id"):
        headers["request_id"] = rid


_tokens: dict = {}


def _task_prerun(task_id=None, task=None, **kwargs):
    """The id the message brought; run inline (eager) inside a request, the request's own; queued by
    nobody's request (beat, a command), the task's id, which the tasks it queues then carry."""
    rid = sanitise(getattr(task.request, "request_id", None)) if task is not None else None
    rid = rid or request_id() or sanitise(task_id)
    _tokens[task_id] = (_task_request_id.set(rid), _task_id.set(task_id), time.perf_counter())


def _task_postrun(task_id=None, task=None, state=None, **kwargs):
    token, id_token, started = _tokens.pop(task_id, (None, None, None))
    if started is not None:
        task_log.info(
            "task %s %s", getattr(task, "name", "?"), state,
            extra={"task": getattr(task, "name", None), "task_id": task_id, "state": state,
                   "duration_ms": round((time.perf_counter() - started) * 1000, 1)},
        )  # fmt: skip
    if token is not None:
        try:
            _task_request_id.reset(token)
            _task_id.reset(id_token)
        except ValueError:  # ended in another context than it began (a green thread): just clear
            _task_request_id.set(None)
            _task_id.set(None)


def _celery_logging(loglevel=None, **kwargs):
    """The worker's logging, when JSON is asked for: ours instead of Celery's own formats."""
    configure_logging("json", level=logging.getLevelName(loglevel) if isinstance(loglevel, int) else "INFO")


def connect_celery_signals(json_logs: bool) -> None:
    global _celery_connected
    if _celery_connected:
        return
    from celery import signals

    signals.before_task_publish.connect(_before_publish, weak=False)
    signals.task_prerun.connect(_task_prerun, weak=False)
    signals.task_postrun.connect(_task_postrun, weak=False)
    if json_logs:  # any receiver of setup_logging stops Celery from configuring logging itself
        signals.setup_logging.connect(_celery_logging, weak=False)
    _celery_connected = True


def init_app(app: Flask) -> None:
    """Request ids and the access line on every request; JSON logs when LOG_FORMAT is "json"."""
    json_logs = app.config.get("LOG_FORMAT") == "json"
    if json_logs and not any(getattr(h, _HANDLER_MARK, False) for h in logging.getLogger().handlers):
        configure_logging("json", level=app.config.get("LOG_LEVEL") or "INFO")
    if json_logs:
        from flask.logging import default_handler

        app.logger.removeHandler(default_handler)  # records reach the root's JSON handler once
    # First of all before-request functions: another one may answer the request itself.
    app.before_request_funcs.setdefault(None, []).insert(0, _start)
    app.after_request(_finish)
    connect_celery_signals(json_logs)
