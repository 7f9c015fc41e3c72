"""Prometheus metrics at /metrics.

Two kinds of figures:
- **Request latency** (`grants_http_request_duration_seconds{endpoint, method, status}`, status as
  its class "2xx"…"5xx"), recorded by each process. With several gunicorn workers, set
  PROMETHEUS_MULTIPROC_DIR (an empty folder, emptied when gunicorn starts, before Python imports
  prometheus_client) and every worker writes its figures there; a scrape of any worker then answers
  the sum of all workers of that host. Unset, each worker answers its own figures only (fine for
  one worker; with more, each scrape sees whichever worker answered). Each host is scraped as its
  own target either way.
- **Shared state**, computed when scraped, from PostgreSQL and the broker (the same on every host):
  queue depth, alert lag, notifications by channel and status, emails failed. Scrape one host for
  these, or aggregate with max() — never sum them over hosts.
Plus `process_*` and `python_info` of the answering process."""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import time
from pathlib import Path

from flask import Flask, request
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

log = logging.getLogger(__name__)
MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

REQUESTS = CollectorRegistry()
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
REQUEST_SECONDS = Histogram(
    "grants_http_request_duration_seconds",
    "Time from the request reaching the app to its answer, by route (Flask endpoint), method and status class.",
    ["endpoint", "method", "status"],
    buckets=BUCKETS,
    registry=REQUESTS,
)
# Redis keys of a kombu queue: the queue itself and one list per priority step (kombu's default steps).
PRIORITY_SEP, PRIORITY_STEPS = "\x06\x16", (3, 6, 9)
# The classic text format, which every Prometheus version reads (our names need none of 1.0.0's escaping).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def observe(response):
    from ..core.logs import STARTED_KEY

    started = request.environ.get(STARTED_KEY)
    if started is not None:
        endpoint = request.url_rule.endpoint if request.url_rule else "unmatched"  # never the raw path
        status = f"{response.status_code // 100}xx"
        method = request.method if request.method in METHODS else "other"  # a client's junk makes no series
        REQUEST_SECONDS.labels(endpoint, method, status).observe(time.perf_counter() - started)
    return response


# --- who may read them -----------------------------------------------------------------------------


def networks(app: Flask) -> list:
    """GRANTS_METRICS_ALLOW parsed once; a wrong entry stops the app at start-up, not at a scrape."""
    nets = app.extensions.get("grants.metrics_allow")
    if nets is None:
        nets = app.extensions["grants.metrics_allow"] = [
            ipaddress.ip_network(entry, strict=False) for entry in app.config.get("METRICS_ALLOW") or []
        ]
    return nets


def may_read(app: Flask) -> bool:
    token = app.config.get("METRICS_TOKEN")
    scheme, _sep, given = request.headers.get("Authorization", "").partition(" ")
    if token and scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
        return True
    nets = networks(app)
    if not nets or not request.remote_addr:
        return False
    try:
        address = ipaddress.ip_address(request.remote_addr)
    except ValueError:
        return False
    return any(address.version == net.version and address in net for net in nets)


# --- figures computed at scrape time ---------------------------------------------------------------


def queue_names(app: Flask) -> list[str]:
    return [
        app.config["TASK_QUEUE"],
        *(q for q in app.config.get("METRICS_QUEUES", ()) if q != app.config["TASK_QUEUE"]),
    ]


def queue_depth(app: Flask, queue: str, timeout: float = 1.0) -> int | None:
    """Messages waiting in the broker for `queue` (not those a worker holds); None: not knowable."""
    url = app.config["BROKER_URL"]
    if url.startswith(("redis://", "rediss://", "unix://")):
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
        try:
            with client.pipeline(transaction=False) as pipe:
                for key in (queue, *(f"{queue}{PRIORITY_SEP}{step}" for step in PRIORITY_STEPS)):
                    pipe.llen(key)
                return sum(pipe.execute())
        finally:
            client.close()
    if url.startswith("filesystem"):  # the embedded broker: one file per message, named <…>.<queue>.msg
        folder = Path(app.config["BROKER_DIR"]) / "queue"
        return sum(1 for _ in folder.glob(f"*.{queue}.msg")) if folder.exists() else 0
    return None


def notification_figures(engine, now) -> tuple[float, list[tuple[str, str, int]]]:
    """(seconds the oldest due-but-unsent notification has waited, [(channel, status, count)])."""
    from sqlalchemy import func, select, text

    from ..alerts.lifecycle import PENDING
    from ..alerts.models import Notification

    due = func.coalesce(Notification.next_attempt_at, Notification.claimed_at)
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL statement_timeout = 3000"))
        oldest = conn.execute(
            select(func.min(due)).where(Notification.status.in_([s.value for s in PENDING]), due <= now)
        ).scalar()
        counts = conn.execute(
            select(Notification.channel, Notification.status, func.count()).group_by(
                Notification.channel, Notification.status
            )
        ).all()
    if isinstance(oldest, str):  # SQLite without the column type applied to an aggregate
        from datetime import datetime

        oldest = datetime.fromisoformat(oldest)
    if oldest is not None and oldest.tzinfo is None:
        from datetime import UTC

        oldest = oldest.replace(tzinfo=UTC)
    lag = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
    return lag, [(channel, status, count) for channel, status, count in counts]


class SharedState:
    """Collector run at each scrape: the broker's queues and the notifications table."""

    def __init__(self, app: Flask, engine):
        self.app, self.engine = app, engine

    def collect(self):
        from ..core import clock

        up = GaugeMetricFamily("grants_metrics_source_up", "1 when the source of these figures answered the scrape.",
                               labels=["source"])  # fmt: skip
        depth = GaugeMetricFamily("grants_queue_depth", "Tasks waiting in the broker, by queue.", labels=["queue"])
        broker_ok = 1
        for queue in queue_names(self.app):
            try:
                value = queue_depth(self.app, queue)
            except Exception as error:  # noqa: BLE001  (a broker that is down: the figure is missing)
                log.warning("metrics: queue depth of %s unknown: %s", queue, error)
                broker_ok = 0
                continue
            if value is not None:
                depth.add_metric([queue], value)
        up.add_metric(["broker"], broker_ok)
        yield depth
        try:
            lag, counts = notification_figures(self.engine, clock.now())
        except Exception as error:  # noqa: BLE001  (a database that is down: the figures are missing)
            log.warning("metrics: notification figures unknown: %s", error)
            up.add_metric(["database"], 0)
            yield up
            return
        up.add_metric(["database"], 1)
        yield up
        yield GaugeMetricFamily(
            "grants_alert_lag_seconds",
            "Age of the oldest notification that is due and not yet sent (0: none waiting).",
            value=lag,
        )
        by_status = GaugeMetricFamily("grants_notifications", "Notifications by channel and status.",
                                      labels=["channel", "status"])  # fmt: skip
        failed = 0
        for channel, status, count in counts:
            by_status.add_metric([channel, status], count)
            if channel == "email" and status == "failed":
                failed = count
        yield by_status
        yield GaugeMetricFamily("grants_emails_failed", "Emails given up after their retries (status failed).",
                                value=failed)  # fmt: skip


def exposition(app: Flask) -> tuple[bytes, str]:
    from prometheus_client import PlatformCollector, ProcessCollector

    from ..extensions import db

    if MULTIPROCESS:
        from prometheus_client import multiprocess

        requests = CollectorRegistry()
        multiprocess.MultiProcessCollector(requests)
    else:
        requests = REQUESTS
    shared = CollectorRegistry()
    shared.register(SharedState(app, db.engine))
    ProcessCollector(registry=shared)
    PlatformCollector(registry=shared)
    return generate_latest(requests) + generate_latest(shared), CONTENT_TYPE


def init_app(app: Flask) -> None:
    networks(app)
    app.after_request(observe)
