"""What the bench runs against: a database of its own on PostgreSQL, a private Redis (broker and
rate limiter, as in production; never the shared one), and real gunicorn with the production
settings (grants/ops/gunicorn_conf.py when present, else gthread, 2 workers x 4 threads)."""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
ADMIN_URL = os.environ.get("GRANTS_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port} after {seconds} s")


@contextlib.contextmanager
def database(tag: str):
    """A fresh PostgreSQL database, dropped afterwards; yields its URL."""
    name = f"grants_bench_{tag}_{os.getpid()}"
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.engine.make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextlib.contextmanager
def private_redis():
    """A Redis of the bench's own on a free port, nothing saved; yields its URL (None without redis-server)."""
    binary = shutil.which("redis-server")
    if binary is None:
        yield None
        return
    port = free_port()
    process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                               stdout=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_for_port(port)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


def server_command(port: int, root: Path = ROOT) -> tuple[list[str], str]:
    """The gunicorn command line and a description of its settings."""
    base = [sys.executable, "-m", "gunicorn"]
    conf = root / "grants" / "ops" / "gunicorn_conf.py"
    if conf.exists():
        how = "grants/ops/gunicorn_conf.py"
        base += ["-c", str(conf)]
    else:
        how = "gthread, 2 workers x 4 threads (grants/ops/gunicorn_conf.py not present)"
        base += ["-k", "gthread", "-w", "2", "--threads", "4", "--timeout", "30"]
    return base + ["-b", f"127.0.0.1:{port}", "--log-level", "warning", "grants:create_app()"], how


@contextlib.contextmanager
def gunicorn(env: dict, root: Path = ROOT):
    """Real gunicorn serving the app with `env` (GRANTS_* settings), from the checkout at `root`
    (another tree, e.g. a copy of the code before a change, for a before/after comparison);
    yields (port, description)."""
    port = free_port()
    command, how = server_command(port, root)
    process = subprocess.Popen(command, cwd=root, env=dict(os.environ) | env | {"PYTHONPATH": str(root)})
    try:
        wait_for_port(port)
        yield port, how
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


CSRF = re.compile(rb'name="csrf_token"[^>]*value="([^"]+)"')


class Client:
    """One browser: its own session cookie and CSRF token, plain http.client on loopback."""

    def __init__(self, port: int, timeout: float = 120):
        self.port, self.timeout, self.cookies, self.headers = port, timeout, {}, {}
        self.csrf, self.stamp = "", False  # stamp: send X-Request-Start as a proxy in front would

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        all_headers = {"Cookie": cookie, "Accept-Encoding": "identity"} | self.headers | (headers or {})
        if self.stamp:
            all_headers["X-Request-Start"] = f"t={time.time():.3f}"
        try:
            conn.request(method, path, body=body, headers=all_headers)
            response = conn.getresponse()
            data = response.read()
        finally:
            conn.close()
        for key, value in response.getheaders():
            if key.lower() == "set-cookie":
                name, _eq, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        self.location = response.getheader("Location") or ""
        return response.status, data

    def get(self, path: str):
        status, data = self.request("GET", path)
        found = CSRF.search(data)
        if found:
            self.csrf = found.group(1).decode()
        return status, data

    def post_form(self, path: str, fields: dict):
        body = urllib.parse.urlencode(fields | {"csrf_token": self.csrf}).encode()
        return self.request("POST", path, body, {"Content-Type": "application/x-www-form-urlencoded"})

    def login(self, email: str, password: str, totp_secret: str | None = None) -> None:
        self.get("/login")
        status, _data = self.post_form("/login", {"email": email, "password": password})
        assert status == 302, f"login failed for {email}: {status}"
        if self.location.endswith("/login/code"):
            import pyotp

            self.get("/login/code")
            status, _data = self.post_form("/login/code", {"code": pyotp.TOTP(totp_secret).now()})
            assert status == 302, f"second factor refused for {email}: {status}"

    def token(self, email: str, password: str, otp: str | None = None) -> None:
        import json

        body = {"email": email, "password": password} | ({"otp": otp} if otp else {})
        status, data = self.request("POST", "/api/v1/auth/token", json.dumps(body).encode(),
                                    {"Content-Type": "application/json"})  # fmt: skip
        assert status == 201, (status, data[:200])
        self.headers["Authorization"] = "Bearer " + json.loads(data)["token"]


def percentile(samples: list[float], share: float) -> float:
    """The nearest-rank percentile (share in 0..1) of `samples`."""
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    rank = max(1, int(-(-share * len(ordered) // 1)))
    return ordered[min(rank, len(ordered)) - 1]
