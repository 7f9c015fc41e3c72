"""Readiness: can this process reach the database, the broker and the storage right now?

Each check runs in its own thread and is waited for at most READYZ_TIMEOUT seconds (1.5), so
/readyz answers within about two seconds even when a service hangs (a dropped packet, a full
disk): a check that has not finished is reported as failed. A check still hanging from an
earlier probe is not started again (at most one thread per check and process)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from flask import Flask

CHECKS = ("database", "broker", "storage")


def _error_text(error: BaseException) -> str:
    """The kind of failure only (`OperationalError`, `ConnectionError`): /readyz answers anyone, and
    an error's text can name hosts, ports and users. The whole error goes to the log."""
    import logging

    first = (str(error).strip().splitlines() or [""])[0]
    logging.getLogger("grants.readyz").warning("readiness check failed: %s: %s", type(error).__name__, first[:300])
    return type(error).__name__


def check_database(app: Flask, engine, timeout: float) -> None:
    from sqlalchemy import text

    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":  # a locked or overloaded server gives up, not the probe
            conn.execute(text(f"SET LOCAL statement_timeout = {int(timeout * 1000)}"))
        conn.execute(text("SELECT 1")).scalar_one()


def check_broker(app: Flask, engine, timeout: float) -> None:
    url = app.config["BROKER_URL"]
    if url.startswith(("redis://", "rediss://", "unix://")):
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
        try:
            client.ping()
        finally:
            client.close()
    elif url.startswith("filesystem"):  # the embedded broker: its queue folder must be writable
        _writable_folder(Path(app.config["BROKER_DIR"]) / "queue")
    elif not url.startswith("memory"):
        from kombu import Connection

        with Connection(url, connect_timeout=timeout) as conn:
            conn.ensure_connection(max_retries=1, timeout=timeout)


def check_storage(app: Flask, engine, timeout: float) -> None:
    """`core.storage.storage().ping()`; without that module (an older tree), the upload folder."""
    try:
        from ..core.storage import storage
    except ImportError:
        _writable_folder(Path(app.config["UPLOAD_DIR"]))
        return
    with app.app_context():
        storage().ping()


def _writable_folder(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise PermissionError(f"{folder.name} is not writable")


RUNNERS = {"database": check_database, "broker": check_broker, "storage": check_storage}


class _Probe(threading.Thread):
    def __init__(self, name: str, app: Flask, engine, timeout: float):
        super().__init__(name=f"readyz-{name}", daemon=True)
        self.check, self.app, self.engine, self.timeout = RUNNERS[name], app, engine, timeout
        self.error: BaseException | None = None
        self.ms: float | None = None

    def run(self) -> None:
        started = time.perf_counter()
        try:
            self.check(self.app, self.engine, self.timeout)
        except BaseException as error:  # noqa: BLE001  (any failure of the service is the answer)
            self.error = error
        self.ms = round((time.perf_counter() - started) * 1000, 1)


def check_all(app: Flask) -> dict[str, dict]:
    """{"database": {"ok": True, "ms": 1.2}, "broker": {...}, "storage": {...}}; a failed check has
    `"ok": False` and `"error"`."""
    from ..extensions import db

    timeout = float(app.config.get("READYZ_TIMEOUT") or 1.5)
    running: dict = app.extensions.setdefault("grants.readyz", {})
    engine = db.engine
    probes: dict[str, _Probe | None] = {}
    for name in CHECKS:
        previous = running.get(name)
        if previous is not None and previous.is_alive():
            probes[name] = None  # the last probe of this service still hangs
            continue
        probe = running[name] = _Probe(name, app, engine, timeout)
        probe.start()
        probes[name] = probe
    deadline = time.perf_counter() + timeout
    results: dict[str, dict] = {}
    for name, probe in probes.items():
        if probe is None:
            results[name] = {"ok": False, "ms": None, "error": "the previous check has not answered yet"}
            continue
        probe.join(max(0.0, deadline - time.perf_counter()))
        if probe.is_alive():
            results[name] = {"ok": False, "ms": round(timeout * 1000, 1), "error": f"no answer within {timeout:g} s"}
        elif probe.error is not None:
            results[name] = {"ok": False, "ms": probe.ms, "error": _error_text(probe.error)}
        else:
            results[name] = {"ok": True, "ms": probe.ms}
    return results
