"""A small Telegram Bot API client (sendMessage, setWebhook) over plain HTTPS.

Every call is POST {GRANTS_TELEGRAM_API_URL}/bot<token>/<method> with a JSON body; the answer is
{"ok": true, "result": …} or {"ok": false, "error_code": …, "description": …, "parameters":
{"retry_after": seconds}}. 429 (flood control, with retry_after) and 5xx are temporary; 403 means
the person blocked the bot or deleted their account; other 4xx (400 "chat not found", …) are final."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.error
import urllib.request

from flask import current_app

TIMEOUT = 10
MAX_LENGTH = 4096  # a message's text limit


class TelegramError(Exception):
    def __init__(self, message: str, *, status: int | None = None, temporary: bool, retry_after: int | None = None):
        super().__init__(message)
        self.http_status, self.temporary, self.retry_after = status, temporary, retry_after

    @property
    def blocked(self) -> bool:
        """The person blocked the bot (or the account is gone): nothing will reach them."""
        return self.http_status == 403


def configured() -> bool:
    config = current_app.config
    return bool(config.get("TELEGRAM_BOT_TOKEN") and config.get("TELEGRAM_BOT_USERNAME"))


def header_token(secret: str) -> str:
    """The token Telegram sends back in X-Telegram-Bot-Api-Secret-Token, derived from the webhook
    secret (HMAC-SHA256, base64url: 43 characters of A-Za-z0-9_-). It differs from the secret in
    the webhook's path, so whoever reads the path (an access or proxy log) still cannot forge an
    update: the webhook requires both."""
    digest = hmac.new(secret.encode(), b"telegram-header-token", hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def deep_link(code: str) -> str:
    return f"https://t.me/{current_app.config['TELEGRAM_BOT_USERNAME']}?start={code}"


def call(method: str, payload: dict) -> dict:
    config = current_app.config
    token = config.get("TELEGRAM_BOT_TOKEN")
    if not token:
        raise TelegramError("the Telegram bot is not configured", temporary=False)
    url = f"{(config.get('TELEGRAM_API_URL') or 'https://api.telegram.org').rstrip('/')}/bot{token}/{method}"
    request = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST",
                                     headers={"Content-Type": "application/json; charset=utf-8"})  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310 (configured URL)
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    except (urllib.error.URLError, OSError) as error:
        raise TelegramError(f"Telegram unreachable: {error}", temporary=True) from None
    try:
        data = json.loads(raw or b"{}")
    except ValueError:
        data = {}
    if status < 300 and isinstance(data, dict) and data.get("ok"):
        return data.get("result") or {}
    data = data if isinstance(data, dict) else {}
    code = int(data.get("error_code") or status)
    retry_after = (data.get("parameters") or {}).get("retry_after")
    description = str(data.get("description") or raw[:200].decode("utf-8", "replace"))
    raise TelegramError(f"Telegram {code}: {description}", status=code, temporary=code == 429 or code >= 500,
                        retry_after=int(retry_after) if isinstance(retry_after, int | float) else None)  # fmt: skip


def send_message(chat_id: int, text: str) -> dict:
    return call("sendMessage", {"chat_id": chat_id, "text": text[:MAX_LENGTH],
                                "link_preview_options": {"is_disabled": True}})  # fmt: skip


def set_webhook(url: str, secret: str) -> dict:
    """Point the bot at `url`; Telegram will send `header_token(secret)` with every update."""
    return call("setWebhook", {"url": url, "secret_token": header_token(secret), "allowed_updates": ["message"],
                               "drop_pending_updates": False})  # fmt: skip


def reply(chat_id: int, text: str) -> dict:
    """A reply given in the webhook's own HTTP answer (the Bot API performs it): no outgoing call
    from the web request, and nothing is lost if Telegram retries the update."""
    return {"method": "sendMessage", "chat_id": chat_id, "text": text[:MAX_LENGTH]}
