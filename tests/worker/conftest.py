"""Real worker processes for the tasks' fault tests: a Redis broker of the test's own (so no other
test's in-flight messages are restored by a short visibility timeout) and `celery -A grants.worker`
processes started against the test's PostgreSQL database and SMTP server."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from awards.conftest import awarded  # noqa: F401  (fixture: a call with three awards)
from conftest import SECRET
from reviews.conftest import stage  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parent.parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def until(condition: Callable[[], object], *, timeout: float, what: str, step: float = 0.05):
    """Poll `condition` until it is true (returns its value) or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(step)  # a polling interval, not a wait for something to have happened


@pytest.fixture
def private_redis(tmp_path):
    """A redis-server of this test's own: its URL."""
    import redis

    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed (Debian package redis-server)")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url, socket_connect_timeout=1)

    def answers() -> bool:
        try:
            return bool(client.ping())
        except redis.ConnectionError:
            return False

    try:
        until(answers, timeout=10, what="the private redis-server answers")
        yield url
    finally:
        client.close()
        process.terminate()
        process.wait(timeout=10)


class Workers:
    """Starts `celery -A grants.worker worker` processes on one queue; stops them at the end."""

    def __init__(self, env: dict):
        self.env = env
        self.queue = env["GRANTS_TASK_QUEUE"]
        self.processes: list[subprocess.Popen] = []
        self.outputs: dict[int, str] = {}
        self.killed: set[int] = set()

    def start(self, name: str, **env) -> subprocess.Popen:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "grants.worker", "worker", "--pool=solo", "--loglevel=WARNING",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "-Q", self.queue, "-n", f"{name}@%h"],
            cwd=ROOT, env=self.env | env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.processes.append(process)
        return process

    def kill(self, process: subprocess.Popen) -> None:
        process.send_signal(signal.SIGKILL)
        self.killed.add(process.pid)
        self.outputs[process.pid] = process.communicate(timeout=30)[0].decode(errors="replace")

    def stop(self) -> list[str]:
        """Stop the live ones (warm shutdown) and return what each one printed."""
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            if process.pid not in self.outputs:
                self.outputs[process.pid] = process.communicate(timeout=30)[0].decode(errors="replace")
        return [self.outputs[p.pid] for p in self.processes]


@pytest.fixture
def workers(app, private_redis, smtp_server, tmp_path):
    """Worker processes sharing the test app's database, storage and a real SMTP server."""
    host, port, _inbox = smtp_server
    env = dict(os.environ) | {
        "GRANTS_BROKER_URL": private_redis,
        "GRANTS_TASK_QUEUE": f"tasks-{uuid.uuid4().hex[:8]}",
        "GRANTS_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "GRANTS_INSTANCE_DIR": str(tmp_path / "worker-instance"),
        "GRANTS_UPLOAD_DIR": app.config["UPLOAD_DIR"],
        "GRANTS_STORAGE_URL": app.config.get("STORAGE_URL") or app.config["UPLOAD_DIR"],
        "GRANTS_SECRET_KEY": SECRET,
        "GRANTS_MAIL_SERVER": host,
        "GRANTS_MAIL_PORT": str(port),
        "GRANTS_BASE_URL": "http://localhost",
    }
    pool = Workers(env)
    try:
        yield pool
    finally:
        outputs = pool.stop()
    survivors = [out for process, out in zip(pool.processes, outputs, strict=True) if process.pid not in pool.killed]
    assert not any("Traceback" in out for out in survivors), survivors
