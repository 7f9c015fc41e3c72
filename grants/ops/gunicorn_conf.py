"""Gunicorn settings for production: `gunicorn -c python:grants.ops.gunicorn_conf` (the app,
`grants:create_app()`, is named here). Every number can be changed by an environment variable.

Slow clients. A sync worker reads a request in the one thread that also answers it, so two
clients sending a byte a second held both workers of the old setup (and /healthz went
unanswered). Here each worker process has a pool of threads (gthread): a slow client holds one
thread, the others keep answering, and idle keep-alive connections wait in the worker's poller
without holding a thread. That still bounds slow clients to workers × threads at a time, so
production puts a buffering reverse proxy (nginx, `proxy_request_buffering on`, its default) in
front: it reads the whole request, however slowly it comes, and hands gunicorn only complete
requests over a fast local connection. The proxy also sends `X-Request-Start: t=${msec}` so a
deadline counts from when a request reached it (grants.core.clock.received_at; trusted only with
GRANTS_PROXY_COUNT > 0), and X-Forwarded-For/-Proto (ProxyFix, grants/security.py).
"""

from __future__ import annotations

import os


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


wsgi_app = "grants:create_app()"
bind = os.environ.get("GRANTS_BIND") or f"127.0.0.1:{_int('PORT', 8000)}"  # the proxy is in front; `-b` overrides

worker_class = "gthread"
workers = _int("GRANTS_WEB_WORKERS", max(2, os.cpu_count() or 1))
# Threads per worker. Each may hold one database connection (SQLAlchemy's pool: 5 + 10 overflow per
# process), so workers × threads should stay well under PostgreSQL's max_connections.
threads = _int("GRANTS_WEB_THREADS", 8)
backlog = _int("GRANTS_WEB_BACKLOG", 2048)  # a deadline rush queues here instead of being refused

# A worker whose main loop is stuck this long is replaced; a request thread is never cut short
# (a PDF or an export may take a while), the proxy's own timeouts bound what a client waits.
timeout = _int("GRANTS_WEB_TIMEOUT", 60)
graceful_timeout = _int("GRANTS_WEB_GRACEFUL_TIMEOUT", 30)  # a deploy lets running requests finish
keepalive = _int("GRANTS_WEB_KEEPALIVE", 5)  # seconds an idle connection is kept (in the poller, no thread)

# Recycle a worker now and then so a slow leak never grows; jitter keeps them from restarting together.
max_requests = _int("GRANTS_WEB_MAX_REQUESTS", 5000)
max_requests_jitter = _int("GRANTS_WEB_MAX_REQUESTS_JITTER", 500)

# Request size bounds (the body is bounded by the app's MAX_CONTENT_LENGTH).
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190

# Who may tell gunicorn the scheme (X-Forwarded-Proto): the proxy on this host. The client address
# and scheme the app uses come from ProxyFix, set by GRANTS_PROXY_COUNT (grants/security.py).
forwarded_allow_ips = os.environ.get("GRANTS_FORWARDED_ALLOW_IPS") or "127.0.0.1,::1"

# No access log here: the proxy logs every request, and the app its own events (with request ids);
# gunicorn logs only its own (workers started, replaced, stopped) to stderr.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GRANTS_WEB_LOGLEVEL") or "info"


def on_starting(server):
    """Multiprocess metrics (grants/ops/metrics.py): the folder named by PROMETHEUS_MULTIPROC_DIR
    must start empty, or figures of an earlier run's workers are added to this one's."""
    from pathlib import Path

    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        for item in Path(folder).glob("*.db"):
            item.unlink(missing_ok=True)
        Path(folder).mkdir(parents=True, exist_ok=True)


def post_worker_init(worker):
    """Objects made while the app was built (routes, templates, catalogs, metadata) live as long
    as the worker: moved out of the garbage collector's view, so its full collections no longer
    walk them on every big page (about half the ranking screen's CPU time at 2,000 applications)."""
    import gc

    gc.collect()
    gc.freeze()
