"""The SMS gateway client and SMS part counting.

Part counting (3GPP TS 23.038 / 23.040): a text that fits the GSM 7-bit alphabet takes 160
septets in one part, or 153 per part when it is split (the concatenation header takes 7); the
extension characters (^ { } \\ [ ] ~ | €) take two septets each. Anything else — Kazakh and
Russian letters among it — is sent as UCS-2: 70 characters in one part, 67 per part when split;
a character outside the Basic Multilingual Plane (an emoji) takes two UCS-2 units.

The gateway is any HTTP service with this contract (most Kazakh SMS aggregators offer one, or a
small adapter gives it): POST GRANTS_SMS_URL with JSON {"to": "+77…", "text": "…", "sender": "…"}
and `Authorization: Bearer GRANTS_SMS_TOKEN`; 2xx (JSON {"id": "…"} optional) means accepted;
429 and 5xx are temporary (a Retry-After header is honoured); any other 4xx is final."""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.request
from dataclasses import dataclass

from flask import current_app

GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = set("\f^{}\\[~]|€")
MAX_ALERT_PARTS = 2  # alerts are kept to two parts at most (a text that needs more is shortened)
TIMEOUT = 10


@dataclass(frozen=True)
class Parts:
    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets (GSM-7) or 16-bit units (UCS-2)
    parts: int
    per_part: int  # the capacity of one part for this text (single or concatenated)


def count_parts(text: str) -> Parts:
    """How many SMS parts `text` takes, and in which encoding."""
    if all(ch in GSM7_BASIC or ch in GSM7_EXTENDED for ch in text):
        units = sum(2 if ch in GSM7_EXTENDED else 1 for ch in text)
        single, multi, encoding = 160, 153, "GSM-7"
    else:
        units = sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)
        single, multi, encoding = 70, 67, "UCS-2"
    if units <= single:
        return Parts(encoding, units, 1 if units else 0, single)
    return Parts(encoding, units, math.ceil(units / multi), multi)


def fit(text: str, max_parts: int = MAX_ALERT_PARTS) -> str:
    """`text`, shortened with "…" (on a word boundary where one is near) to fit in `max_parts`."""
    if count_parts(text).parts <= max_parts:
        return text
    low, high = 0, len(text)
    while low < high:  # the longest prefix that fits with the ellipsis
        middle = (low + high + 1) // 2
        if count_parts(text[:middle].rstrip() + "…").parts <= max_parts:
            low = middle
        else:
            high = middle - 1
    cut = text[:low]
    space = cut.rfind(" ")
    if space > low - 15:
        cut = cut[:space]
    return cut.rstrip(" ,.:;—-") + "…"


# Kazakhstan's mobile codes (+7 7XX): Beeline, Kcell/Activ, Tele2/Altel and the others. Other
# 7XX codes are landlines (+7 7172 Astana, +7 727 Almaty, …), which no SMS reaches.
MOBILE_CODES = frozenset(
    [f"70{d}" for d in range(9)]
    + ["747", "750", "751"]
    + [f"76{d}" for d in range(5)]
    + ["771", "775", "776", "777", "778"]
)


def normalize_phone(value: str) -> str | None:
    """A Kazakhstan number in E.164 (+77XXXXXXXXX), from the ways people write it (+7 701 234 56 78,
    8 (701) 234-56-78, 87012345678, 7012345678); None if it is not a Kazakhstan number. Whether it
    is a mobile one is `is_mobile`."""
    digits = "".join(ch for ch in str(value or "") if ch.isdigit())
    if len(digits) == 11 and digits[0] in "78":
        digits = digits[1:]
    if len(digits) != 10 or digits[0] != "7" or set(str(value)) - set("+0123456789 ()-."):
        return None
    return "+7" + digits


def is_mobile(phone: str) -> bool:
    """A normalised Kazakhstan number (+77…) of a mobile operator: only these receive SMS."""
    return len(phone) == 12 and phone.startswith("+7") and phone[2:5] in MOBILE_CODES


def mask(phone: str) -> str:
    """+7 701 *** ** 78: enough to recognise one's own number."""
    return f"{phone[:2]} {phone[2:5]} *** ** {phone[-2:]}" if len(phone) == 12 else phone


class SmsError(Exception):
    """The gateway refused or could not be reached. `temporary`: worth trying again later."""

    def __init__(self, message: str, *, status: int | None = None, temporary: bool, retry_after: int | None = None):
        super().__init__(message)
        self.http_status, self.temporary, self.retry_after = status, temporary, retry_after


def configured() -> bool:
    return bool(current_app.config.get("SMS_URL"))


def send(phone: str, text: str) -> str:
    """Hand one SMS to the gateway; returns the gateway's message id (or "")."""
    config = current_app.config
    if not config.get("SMS_URL"):
        raise SmsError("the SMS gateway is not configured", temporary=False)
    payload = {"to": phone, "text": text, "sender": config.get("SMS_SENDER") or ""}
    request = urllib.request.Request(config["SMS_URL"], data=json.dumps(payload).encode(), method="POST",
                                     headers={"Content-Type": "application/json; charset=utf-8",
                                              "Authorization": f"Bearer {config.get('SMS_TOKEN') or ''}"})  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310 (configured URL)
            raw = response.read()
    except urllib.error.HTTPError as error:
        body = error.read().decode("utf-8", "replace")[:300]
        retry_after = error.headers.get("Retry-After")
        temporary = error.code == 429 or error.code >= 500
        raise SmsError(f"SMS gateway {error.code}: {body}", status=error.code, temporary=temporary,
                       retry_after=int(retry_after) if retry_after and retry_after.isdigit() else None) from None  # fmt: skip
    except (urllib.error.URLError, OSError) as error:
        raise SmsError(f"SMS gateway unreachable: {error}", temporary=True) from None
    try:
        data = json.loads(raw or b"{}")
    except ValueError:
        data = {}
    return str(data.get("id", "")) if isinstance(data, dict) else ""
