"""The one clock. Everything time-dependent (auto-close, alerts) asks it, so tests can move
time by replacing `source` instead of sleeping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def source() -> datetime:
    return datetime.now(UTC)


def now() -> datetime:
    return source()


class travel:  # noqa: N801 (used like a function: `with clock.travel(moment):`)
    """Make `now()` return a fixed instant inside the block (tests and demo data)."""

    def __init__(self, moment: datetime):
        self.moment = moment

    def __enter__(self):
        global source
        self._saved = source
        source = lambda: self.moment  # noqa: E731
        return self

    def __exit__(self, *exc):
        global source
        source = self._saved

    def to(self, moment: datetime) -> None:
        self.moment = moment


# --- when a request arrived ----------------------------------------------------------------------
#
# A deadline counts by when a request reached the deployment, not by when a busy worker got to it:
# at a deadline rush the requests queue (in the proxy, in gunicorn's backlog), and an applicant who
# pressed "Submit" in time must not be refused because of that queue.

ARRIVAL_KEY = "grants.arrival"  # WSGI environ: (time.time(), now()) when the app first saw the request
MAX_QUEUE_SECONDS = 120  # a proxy's X-Request-Start older than this (or in the future) is not believed


class ArrivalStamp:
    """WSGI middleware, the outermost around the app: notes the instant the request reached this
    process, before Flask (or anything else) does any work for it."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        import time

        environ.setdefault(ARRIVAL_KEY, (time.time(), now()))
        return self.wsgi_app(environ, start_response)


def proxy_start(value: str | None) -> float | None:
    """Seconds since the epoch from an X-Request-Start header: `t=1700000000.123` (nginx's
    `t=${msec}`), or whole milliseconds (Heroku) or microseconds since the epoch; None if unreadable."""
    if not value:
        return None
    text = value.strip()
    if text.startswith("t="):
        text = text[2:]
    try:
        number = float(text)
    except ValueError:
        return None
    if number != number or number <= 0:  # NaN or nonsense
        return None
    for above, scale in ((1e17, 1e9), (1e14, 1e6), (1e11, 1e3)):  # ns, µs, ms: more digits than seconds have
        if number > above:
            return number / scale
    return number


def received_at() -> datetime:
    """When the current request reached the deployment, on this clock: the reverse proxy's
    X-Request-Start when the app is configured behind one that sets it (PROXY_COUNT > 0, see
    security.py, and TRUST_REQUEST_START: a proxy that passes a client's header on unchanged would
    let the client choose its own arrival) and the value is believable (not in the future, at most MAX_QUEUE_SECONDS before this process got
    the request), else when this process received it (ArrivalStamp). Outside a request: now()."""
    from flask import current_app, has_request_context, request

    if not has_request_context() or ARRIVAL_KEY not in request.environ:
        return now()
    real, programme = request.environ[ARRIVAL_KEY]
    config = current_app.config
    if int(config.get("PROXY_COUNT") or 0) > 0 and config.get("TRUST_REQUEST_START"):
        start = proxy_start(request.headers.get("X-Request-Start"))
        if start is not None and 0 <= real - start <= MAX_QUEUE_SECONDS:
            return programme - timedelta(seconds=real - start)
    return programme
