"""Slow clients (issue 15, item 6): clients dribbling a request a byte at a time no longer freeze
the web server. Gunicorn runs with the production settings (grants/ops/gunicorn_conf.py, gthread)
against a PostgreSQL app, with a single worker process; while the slow sockets are still sending,
/healthz answers."""

import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from conftest import _free_port

ROOT = Path(__file__).resolve().parent.parent.parent
SLOW_CLIENTS = 3
REQUEST = (
    b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
    b"Content-Length: 60\r\n\r\nemail=slow%40example.kz&password=one-byte-at-a-time-please"
)


class SlowClient(threading.Thread):
    """Sends REQUEST one byte at a time, a byte every 0.2 s, until told to stop."""

    def __init__(self, port: int, stop: threading.Event):
        super().__init__(daemon=True)
        self.port, self.stop, self.sent, self.finished = port, stop, 0, False

    def run(self):
        with socket.create_connection(("127.0.0.1", self.port), timeout=30) as sock:
            for byte in REQUEST:
                if self.stop.is_set():
                    return
                sock.sendall(bytes([byte]))
                self.sent += 1
                self.stop.wait(0.2)  # the client's pace (not a check of ours)
            self.finished = True


def _get(url: str, timeout: float) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status
    except OSError:
        return None


def _until(condition, within: float, what: str):
    deadline = time.monotonic() + within
    while not (value := condition()):
        assert time.monotonic() < deadline, what
        time.sleep(0.05)
    return value


def test_healthz_answers_while_slow_clients_dribble_their_requests(database_url, tmp_path):
    port = _free_port()
    env = dict(os.environ) | {
        "GRANTS_DATABASE_URL": database_url,
        "GRANTS_INSTANCE_DIR": str(tmp_path / "instance"),
        "GRANTS_SECRET_KEY": "slow-clients-test",
        "GRANTS_WEB_WORKERS": "1",
        "GRANTS_WEB_LOGLEVEL": "warning",
    }
    env.pop("GRANTS_PROXY_COUNT", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "python:grants.ops.gunicorn_conf", "-b", f"127.0.0.1:{port}"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    stop = threading.Event()
    clients = [SlowClient(port, stop) for _ in range(SLOW_CLIENTS)]
    try:
        health = f"http://127.0.0.1:{port}/healthz"
        _until(lambda: server.poll() is not None or _get(health, 2) == 200, 60, "gunicorn did not start")
        assert server.poll() is None, server.stdout.read().decode(errors="replace")[-3000:]

        for client in clients:
            client.start()
        _until(lambda: all(c.sent >= 3 for c in clients), 30, "the slow clients did not get going")
        answered = _until(lambda: _get(health, 5) == 200, 20, "/healthz did not answer while slow clients sent")
        still_sending = [c for c in clients if c.is_alive() and not c.finished]
        assert answered and len(still_sending) == SLOW_CLIENTS  # answered while every slow request was unfinished
        assert all(c.sent < len(REQUEST) for c in clients)
    finally:
        stop.set()
        for client in clients:
            client.join(timeout=5)
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
