"""A fake Telegram Bot API and a fake SMS gateway: real HTTP servers in threads that record every
request and answer failures on demand (`fail(status, body, times=n)`)."""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict
    body: dict


@dataclass
class FakeService:
    """Answers 200 with `ok(body)` unless failures are queued."""

    name: str
    requests: list[Received] = field(default_factory=list)
    failures: list[tuple[int, dict, dict]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    def fail(self, status: int, body: dict | None = None, *, times: int = 1, headers: dict | None = None) -> None:
        with self.lock:
            self.failures += [(status, body or {}, headers or {})] * times

    def ok(self, received: Received) -> dict:
        raise NotImplementedError

    def answer(self, received: Received) -> tuple[int, dict, dict]:
        with self.lock:
            self.requests.append(received)
            if self.failures:
                return self.failures.pop(0)
        return 200, self.ok(received), {}

    def texts(self) -> list[str]:
        return [r.body.get("text", "") for r in self.requests]

    def clear(self) -> None:
        with self.lock:
            self.requests.clear()
            self.failures.clear()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def start(self) -> FakeService:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {"raw": raw.decode("utf-8", "replace")}
                status, answer, headers = fake.answer(Received(self.path, dict(self.headers), body))
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class FakeTelegram(FakeService):
    """POST /bot<token>/<method>: sendMessage answers a Message, setWebhook True."""

    def __init__(self):
        super().__init__("telegram")

    def ok(self, received: Received) -> dict:
        if received.path.endswith("/sendMessage"):
            return {"ok": True, "result": {"message_id": len(self.requests), "chat": {"id": received.body.get("chat_id")},
                                           "text": received.body.get("text")}}  # fmt: skip
        return {"ok": True, "result": True}

    def messages(self, chat_id: int) -> list[str]:
        return [
            r.body["text"] for r in self.requests if r.path.endswith("/sendMessage") and r.body["chat_id"] == chat_id
        ]

    @staticmethod
    def flood(retry_after: int = 7) -> tuple[int, dict]:
        return 429, {"ok": False, "error_code": 429, "description": f"Too Many Requests: retry after {retry_after}",
                     "parameters": {"retry_after": retry_after}}  # fmt: skip

    @staticmethod
    def blocked() -> tuple[int, dict]:
        return 403, {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}


class FakeSms(FakeService):
    """POST /send {to, text, sender} → {"id": …}."""

    def __init__(self):
        super().__init__("sms")

    def ok(self, received: Received) -> dict:
        return {"id": f"sms-{len(self.requests)}"}

    def messages(self, phone: str) -> list[str]:
        return [r.body["text"] for r in self.requests if r.body.get("to") == phone]


TOKEN = "123456:TEST-token"
BOT = "grants_test_bot"
WEBHOOK_SECRET = "hook-secret_0123456789"
# what Telegram sends back in the header: derived from the secret (telegram.header_token), not the secret
HEADER_TOKEN = "-a-TZXDCN4M2vtc0zX01WRvkX2zUbhtqDNi-nDHomcU"
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": HEADER_TOKEN}


def channel_config(telegram: FakeTelegram, sms: FakeSms) -> dict:
    return {
        "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_BOT_USERNAME": BOT, "TELEGRAM_API_URL": telegram.url,
        "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET, "SMS_URL": sms.url + "/send", "SMS_TOKEN": "sms-token",
        "SMS_SENDER": "Grants",
    }  # fmt: skip


_update_ids = itertools.count(int(time.time() * 1000) % 10**9)


def update(chat_id: int, text: str, *, language: str = "ru", update_id: int | None = None,
           username: str = "someone") -> dict:  # fmt: skip
    """A Telegram Update as the Bot API posts it to the webhook (a new update id unless given:
    a repeated one is a repeated delivery, which the webhook ignores)."""
    update_id = next(_update_ids) if update_id is None else update_id
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": 1_800_000_000, "text": text,
        "chat": {"id": chat_id, "type": "private", "username": username},
        "from": {"id": chat_id, "is_bot": False, "first_name": "Test", "username": username, "language_code": language},
    }}  # fmt: skip
