"""Fixtures of the operations tests: a Redis of the test's own (to stop), a database address that
refuses or never answers, and the JSON log lines the app writes."""

from __future__ import annotations

import io
import json
import logging
import shutil
import socket
import subprocess
import time

import pytest
from conftest import unavailable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateRedis:
    def __init__(self, port: int, process: subprocess.Popen):
        self.port, self.process = port, process
        self.url = f"redis://127.0.0.1:{port}/0"

    def stop(self) -> None:
        """SIGKILL, then wait until the port refuses connections."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def private_redis():
    """A redis-server of this test only (the shared one is never stopped)."""
    import redis

    binary = shutil.which("redis-server")
    if binary is None:
        unavailable("redis-server", "the redis-server program is not installed")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    server = PrivateRedis(port, process)
    deadline = time.monotonic() + 10
    while True:  # a plain socket: redis-py's own retries would wait a second between tries
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            assert time.monotonic() < deadline, "the private redis-server did not start"
            time.sleep(0.02)
    assert redis.Redis(port=port).ping()
    yield server
    server.stop()


@pytest.fixture
def silent_server():
    """A TCP port that accepts connections (the kernel's backlog) and never says a word: a hung
    service. Closing it resets the waiting connections."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    yield listener.getsockname()[1]
    listener.close()


class LogLines:
    def __init__(self, buffer: io.StringIO):
        self.buffer = buffer

    def all(self) -> list[dict]:
        return [json.loads(line) for line in self.buffer.getvalue().splitlines() if line.strip()]

    def raw(self) -> str:
        return self.buffer.getvalue()


@pytest.fixture
def json_logs():
    """The root logger also writes JSON lines (as with GRANTS_LOG_FORMAT=json) into a buffer, at INFO;
    the session's logging is put back afterwards."""
    from grants.core.logs import JsonFormatter, RequestIdFilter

    root = logging.getLogger()
    saved_level = root.level
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield LogLines(buffer)
    root.removeHandler(handler)
    root.setLevel(saved_level)
