"""Real parallel requests for the concurrency tests: N threads wait at a barrier, then each sends
one HTTP request to a threaded server (the `live_server` fixture) over its own connection, so the
requests really overlap inside PostgreSQL.

    base = live_server(app)
    token = api_token(app, user)
    results = fire(base, [("POST", "/api/v1/applications/1/submit", token, None)] * 10)
    assert sorted(r.status for r in results) == [200] + [409] * 9
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass


@dataclass
class Result:
    status: int
    body: dict | str

    @property
    def code(self) -> str | None:
        return self.body.get("error", {}).get("code") if isinstance(self.body, dict) else None


def _send(base: str, method: str, path: str, token: str | None, payload, headers: dict | None) -> Result:
    data = None
    head = {"Accept-Language": "en"} | (headers or {})
    if payload is not None:
        if isinstance(payload, bytes):
            data = payload
        else:
            data = json.dumps(payload).encode()
            head["Content-Type"] = "application/json"
    if token:
        head["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(base + path, data=data, method=method, headers=head)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            raw, status = response.read(), response.status
    except urllib.error.HTTPError as error:
        raw, status = error.read(), error.code
    text = raw.decode("utf-8", "replace")
    try:
        return Result(status, json.loads(text))
    except ValueError:
        return Result(status, text)


def fire(base: str, requests: list[tuple], *, headers: dict | None = None) -> list[Result]:
    """Send every (method, path, token, json_or_bytes) request at once; results in the same order."""
    barrier = threading.Barrier(len(requests))
    results: list[Result | BaseException | None] = [None] * len(requests)

    def run(i: int, spec: tuple) -> None:
        method, path, token, payload = spec
        barrier.wait()
        try:
            results[i] = _send(base, method, path, token, payload, headers)
        except BaseException as exc:  # noqa: BLE001  (reported below, never swallowed)
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, spec)) for i, spec in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for item in results:
        if isinstance(item, BaseException):
            raise item
    assert all(isinstance(item, Result) for item in results), "a request did not finish"
    return results  # type: ignore[return-value]


def api_token(app, user) -> str:
    """A bearer token for `user`, committed so the server's threads can see it."""
    from grants.accounts.services import issue_api_token
    from grants.extensions import db

    with app.app_context():
        token, _expires = issue_api_token(db.session.merge(user), second_factor=True)
        db.session.commit()
    return token


def browser_session(base: str, email: str, path: str) -> tuple[str, str]:
    """Log in over HTTP like a browser: (Cookie header, CSRF token of the page at `path`)."""
    import http.cookiejar
    import re
    import urllib.parse
    import urllib.request

    from conftest import PASSWORD, SECRET_RE, SERVED, totp_now, two_factor_code

    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

    def token_in(html: str) -> str:
        match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"', html)
        return match.group(1) or match.group(2)

    def token_of(url: str) -> str:
        return token_in(opener.open(base + url).read().decode())

    form = urllib.parse.urlencode({"csrf_token": token_of("/login"), "email": email, "password": PASSWORD}).encode()
    answer = opener.open(base + "/login", data=form)
    landed, html = answer.geturl(), answer.read().decode()
    if landed.endswith(("/login/code", "/login/setup")):  # the second factor (managers and admins)
        match = SECRET_RE.search(html)
        code = totp_now(match.group(1).replace(" ", "")) if match else two_factor_code(SERVED[base], email)
        step = urllib.parse.urlencode({"csrf_token": token_in(html), "code": code}).encode()
        opener.open(landed, data=step)
    csrf = token_of(path)
    return "; ".join(f"{c.name}={c.value}" for c in jar), csrf
