"""Linking a Telegram chat, verifying a phone by SMS, choosing channels per alert kind, and the
bot's answers. Codes are stored as HMACs only, expire, and are used once."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import delete, func, select, update
from sqlalchemy import text as sql
from sqlalchemy.dialects import postgresql, sqlite

from ..accounts.models import User
from ..core import clock
from ..core.db import keep_on_refusal, on_commit, transactional
from ..core.errors import Conflict, ServiceError, ValidationFailed
from ..extensions import db
from . import rules, sms, telegram
from .models import (
    CHANNELS,
    ChannelChoice,
    PhoneCode,
    PhoneNumber,
    TelegramBlocked,
    TelegramCode,
    TelegramLink,
    TelegramUpdate,
)

TELEGRAM_CODE_LIFETIME = timedelta(minutes=15)
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read off a screen and typed
CODE_LENGTH = 10  # 50 bits: not guessable, and the wrong tries of a chat are limited too
WRONG_CODES_PER_CHAT = "5 per hour"
PHONE_CODE_LIFETIME = timedelta(minutes=10)
PHONE_CODE_ATTEMPTS = 5
PHONE_CODE_INTERVAL = timedelta(seconds=60)  # between two codes to one person
PHONE_CODES_PER_HOUR = 3  # per person and per number
MESSAGES_PER_CHAT = "20 per minute"  # answered per chat; more are ignored (one noisy chat slows nobody)
UPDATES_KEPT = timedelta(days=2)
EMAILS_PER_QUERY = 1000  # update ids remembered against Telegram's repeated deliveries
# CODE-0001, or CODE-0001-v2 for a resubmission (grants/applications/submission.py), upper-cased
RECEIPT_RE = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,58}-\d{4,6}(-V\d{1,4})?$")


class TooManyRequests(ServiceError):
    status = 429
    code = "rate_limited"


def _digest(purpose: str, code: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{purpose}:{code}".encode(), hashlib.sha256).hexdigest()


def normalize_code(text: str) -> str:
    return "".join(ch for ch in text.upper() if ch.isalnum())


# --- the page's state ------------------------------------------------------------------------


def telegram_link(user) -> TelegramLink | None:
    return db.session.execute(select(TelegramLink).filter_by(user_id=user.id)).scalar_one_or_none()


def phone_number(user) -> PhoneNumber | None:
    return db.session.execute(select(PhoneNumber).filter_by(user_id=user.id)).scalar_one_or_none()


def telegram_blocked(user) -> TelegramBlocked | None:
    """Set when the chat was unlinked because the person blocked the bot (shown on the page)."""
    return db.session.execute(select(TelegramBlocked).filter_by(user_id=user.id)).scalar_one_or_none()


def pending_phone(user) -> PhoneCode | None:
    """The last code sent that can still be entered."""
    code = db.session.execute(
        select(PhoneCode).filter_by(user_id=user.id).order_by(PhoneCode.id.desc()).limit(1)
    ).scalar_one_or_none()
    if code is None or code.used_at or code.expires_at <= clock.now() or code.attempts >= PHONE_CODE_ATTEMPTS:
        return None
    return code


def alert_kinds() -> dict:
    """The alert kinds registry, with every kind registered."""
    from ..alerts import kinds  # noqa: F401  (registers the kinds)
    from ..alerts.registry import KINDS

    return KINDS


def choices(user) -> dict[str, set[str]]:
    """{kind: chosen channels} for every alert kind (email alone where nothing was chosen)."""
    KINDS = alert_kinds()  # noqa: N806
    stored = {
        c.kind: c.chosen() for c in db.session.execute(select(ChannelChoice).filter_by(user_id=user.id)).scalars()
    }
    return {kind: stored.get(kind, {"email"}) for kind in KINDS}


# --- Telegram --------------------------------------------------------------------------------


@transactional
def new_telegram_code(user) -> str:
    """A fresh one-time code for linking a chat (any earlier unused code of the person stops
    working). Returned once, in clear, for the page; only its HMAC is kept."""
    if not telegram.configured():
        raise Conflict(_("Telegram is not available on this site."), code="channel_unavailable")
    db.session.execute(delete(TelegramCode).where(TelegramCode.user_id == user.id, TelegramCode.used_at.is_(None)))
    code = "".join(secrets.choice(CODE_ALPHABET) for _i in range(CODE_LENGTH))
    now = clock.now()
    db.session.add(TelegramCode(user_id=user.id, code_hash=_digest("telegram", code), created_at=now,
                                expires_at=now + TELEGRAM_CODE_LIFETIME))  # fmt: skip
    return code


def _chat_key(chat_id: int) -> tuple[str, str, str]:
    """The wrong tries of a chat, counted in the rate-limit storage (Redis in production)."""
    return current_app.config.get("RATELIMIT_KEY_PREFIX", "grants"), "telegram-code", str(chat_id)


def _chat_may_try(chat_id: int) -> bool:
    from limits import parse

    from ..extensions import limiter

    return limiter.limiter.test(parse(WRONG_CODES_PER_CHAT), *_chat_key(chat_id))


def _wrong_code(chat_id: int) -> None:
    from limits import parse

    from ..extensions import limiter

    limiter.limiter.hit(parse(WRONG_CODES_PER_CHAT), *_chat_key(chat_id))


@transactional
def link_chat(chat_id: int, code: str, username: str | None = None) -> User | None:
    """Link the chat to the person whose code it sent: the code is locked, checked (known, not
    used, not expired) and used up in one step, so two deliveries of it link once. A chat linked
    to someone else moves to this person; a person has one chat. None when the code is refused."""
    query = select(TelegramCode).where(TelegramCode.code_hash == _digest("telegram", normalize_code(code)))
    found = db.session.execute(query.with_for_update()).scalar_one_or_none()
    now = clock.now()
    if found is None or found.used_at is not None or found.expires_at <= now:
        return None
    user = db.session.get(User, found.user_id)
    if user is None or not rules.can_manage_channels(user):
        return None
    found.used_at = now
    db.session.execute(
        delete(TelegramLink).where((TelegramLink.chat_id == chat_id) | (TelegramLink.user_id == user.id))
    )
    db.session.flush()
    db.session.execute(delete(TelegramBlocked).where(TelegramBlocked.user_id == user.id))
    db.session.add(TelegramLink(user_id=user.id, chat_id=chat_id, username=(username or None) and username[:64],
                                linked_at=now))  # fmt: skip
    return user


@transactional
def unlink_telegram(user) -> None:
    """Telegram is no longer a channel of the person: the chat and every choice of it go."""
    db.session.execute(delete(TelegramLink).where(TelegramLink.user_id == user.id))
    db.session.execute(delete(TelegramBlocked).where(TelegramBlocked.user_id == user.id))
    for choice in db.session.execute(select(ChannelChoice).filter_by(user_id=user.id)).scalars():
        choice.telegram = False


@transactional
def chat_blocked(chat_id: int) -> None:
    """Telegram answered 403 for this chat (the person blocked the bot): the chat is unlinked, so
    no later alert is attempted, and the person's channels page says why."""
    link = db.session.execute(select(TelegramLink).filter_by(chat_id=chat_id).with_for_update()).scalar_one_or_none()
    if link is None:
        return
    user_id = link.user_id
    db.session.delete(link)
    for choice in db.session.execute(select(ChannelChoice).filter_by(user_id=user_id)).scalars():
        choice.telegram = False
    if db.session.execute(select(TelegramBlocked).filter_by(user_id=user_id)).scalar_one_or_none() is None:
        db.session.add(TelegramBlocked(user_id=user_id, blocked_at=clock.now()))


def _advisory_lock(name: str) -> None:
    """A transaction-scoped lock on a name (PostgreSQL's pg_advisory_xact_lock), for what has no
    row to lock: a phone number before anyone verified it, the site's daily SMS count. SQLite
    serialises writers itself."""
    if db.session.get_bind().dialect.name == "postgresql":
        key = int.from_bytes(hashlib.sha256(f"grants:{name}".encode()).digest()[:8], "big", signed=True)
        db.session.execute(sql("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


# --- phone -----------------------------------------------------------------------------------


class CodeSending:
    """What became of a verification SMS handed to the gateway after the commit: `sent` is None
    until then, then True or False (the view tells the person at once, on the next page)."""

    def __init__(self, phone: str):
        self.phone, self.sent = phone, None


@transactional
def request_phone_code(user, raw_phone: str) -> CodeSending:
    """Send a 6-digit code to a Kazakhstan mobile number. At most one code a minute and three an
    hour per person and per number (the number may belong to someone else: no SMS flooding), and
    GRANTS_SMS_DAILY_LIMIT codes a day on the whole site. The counts are checked under a lock on
    the person, one on the number and one on the site's count, so parallel requests (even from
    different people) cannot pass them together.

    A number someone else verified is sent a code all the same (and refused at verification
    only), so this answer never tells whether a number is registered.

    The SMS leaves after the commit (`on_commit`): no lock is held during the gateway's HTTP call
    (up to 10 s), and the code row — which the caps count — is committed before the message
    leaves, so a request that fails afterwards cannot hide a sent SMS from the caps. If the
    gateway refuses, the code is marked dead at once (it counts still: it was an attempt) and
    `CodeSending.sent` is False, for the view to tell the person."""
    if not sms.configured():
        raise Conflict(_("SMS is not available on this site."), code="channel_unavailable")
    phone = sms.normalize_phone(raw_phone)
    if phone is None:
        message = _("Enter a Kazakhstan mobile number, e.g. +7 701 234 56 78.")
        raise ValidationFailed(message, fields={"phone": [message]})
    if not sms.is_mobile(phone):
        message = _("This is not a mobile number. SMS reaches Kazakhstan mobile numbers only: +7 700–708, 747, "
                    "750–751, 760–764, 771, 775–778.")  # fmt: skip
        raise ValidationFailed(message, fields={"phone": [message]}, code="not_mobile")
    db.session.execute(select(User.id).where(User.id == user.id).with_for_update())  # one send at a time per person
    _advisory_lock(f"sms-number:{phone}")  # and per number, across people
    _advisory_lock("sms-day")  # and the site's daily count (held for milliseconds: nothing is sent here)
    now = clock.now()
    last = db.session.execute(select(func.max(PhoneCode.created_at)).filter_by(user_id=user.id)).scalar()
    if last is not None and last > now - PHONE_CODE_INTERVAL:
        raise TooManyRequests(_("A code was sent less than a minute ago. Please wait a little."))
    hour = now - timedelta(hours=1)
    by_user = db.session.execute(select(func.count()).where(PhoneCode.user_id == user.id, PhoneCode.created_at > hour))
    by_phone = db.session.execute(select(func.count()).where(PhoneCode.phone == phone, PhoneCode.created_at > hour))
    if by_user.scalar() >= PHONE_CODES_PER_HOUR or by_phone.scalar() >= PHONE_CODES_PER_HOUR:
        raise TooManyRequests(_("Too many codes were sent. Please try again in an hour."))
    today = db.session.execute(select(func.count()).where(PhoneCode.created_at > now - timedelta(days=1))).scalar()
    if today >= int(current_app.config.get("SMS_DAILY_LIMIT") or 500):
        current_app.logger.warning("verification SMS refused: the daily limit (%s) is reached", today)
        raise TooManyRequests(_("Too many verification codes were sent on this site today. Please try again "
                                "tomorrow."), code="sms_daily_limit")  # fmt: skip
    code = f"{secrets.randbelow(10**6):06d}"
    row = PhoneCode(user_id=user.id, phone=phone, code_hash=_digest("phone", code), created_at=now,
                    expires_at=now + PHONE_CODE_LIFETIME)  # fmt: skip
    db.session.add(row)
    db.session.flush()
    with force_locale(user.locale):
        message = _("Grants: your code is %(code)s. It is valid for 10 minutes.", code=code)
    sending, code_id, app = CodeSending(phone), row.id, current_app._get_current_object()
    on_commit(lambda: _send_code(app, sending, code_id, message))
    return sending


def _send_code(app, sending: CodeSending, code_id: int, message: str) -> None:
    """After the commit: hand the code to the gateway; a refusal kills the code (its own small
    transaction: the request's is over), so the page does not ask for a code that never came."""
    try:
        sms.send(sending.phone, message)
    except sms.SmsError as error:
        app.logger.warning("verification SMS not sent: %s", error)
        sending.sent = False
        with db.engine.begin() as connection:
            connection.execute(update(PhoneCode).where(PhoneCode.id == code_id)
                               .values(expires_at=PhoneCode.created_at))  # fmt: skip
        return
    sending.sent = True


@transactional
def verify_phone(user, code: str) -> PhoneNumber:
    """The last code sent, entered within its lifetime and its five attempts, verifies the number.
    The same code entered again once it worked (a double click, two tabs) answers the same. A
    number someone else verified first is refused here, with a message that does not say so."""
    pending = db.session.execute(
        select(PhoneCode).filter_by(user_id=user.id).order_by(PhoneCode.id.desc()).limit(1).with_for_update()
    ).scalar_one_or_none()
    now = clock.now()
    entered = "".join(ch for ch in str(code or "") if ch.isdigit())
    if pending is not None and pending.used_at is not None:
        number, same = phone_number(user), hmac.compare_digest(_digest("phone", entered), pending.code_hash)
        if same and number is not None and number.phone == pending.phone:
            return number  # already done by this very code
    if pending is None or pending.used_at or pending.expires_at <= now or pending.attempts >= PHONE_CODE_ATTEMPTS:
        message = _("This code has expired. Please ask for a new one.")
        raise ValidationFailed(message, fields={"code": [message]}, code="code_expired")
    if not hmac.compare_digest(pending.code_hash, _digest("phone", entered)):
        pending.attempts += 1
        keep_on_refusal()  # the attempt counts although the request is refused
        left = PHONE_CODE_ATTEMPTS - pending.attempts
        message = (_("Wrong code. Attempts left: %(n)s.", n=left) if left > 0
                   else _("Wrong code. Please ask for a new one."))  # fmt: skip
        raise ValidationFailed(message, fields={"code": [message]}, code="wrong_code")
    pending.used_at = now
    _advisory_lock(f"sms-number:{pending.phone}")  # two people verifying one number: one after the other
    taken = db.session.execute(select(PhoneNumber).filter_by(phone=pending.phone)).scalar_one_or_none()
    if taken is not None and taken.user_id != user.id:
        keep_on_refusal()  # the code is used up
        message = _("This number cannot be verified for your account. Please enter another number.")
        raise Conflict(message, fields={"code": [message]}, code="phone_unavailable")
    number = phone_number(user)
    if number is None:
        number = PhoneNumber(user_id=user.id, phone=pending.phone, verified_at=now)
        db.session.add(number)
    else:
        number.phone, number.verified_at = pending.phone, now
    return number


@transactional
def remove_phone(user) -> None:
    db.session.execute(delete(PhoneNumber).where(PhoneNumber.user_id == user.id))
    for choice in db.session.execute(select(ChannelChoice).filter_by(user_id=user.id)).scalars():
        choice.sms = False


# --- choices ---------------------------------------------------------------------------------


@transactional
def set_choices(user, chosen: dict[str, set[str] | list[str]]) -> dict[str, set[str]]:
    """Store the channels of each alert kind given (kinds not given keep theirs). Telegram needs a
    linked chat and SMS a verified phone; an unknown kind or channel is refused."""
    KINDS = alert_kinds()  # noqa: N806

    linked, verified = telegram_link(user) is not None, phone_number(user) is not None
    problems = {}
    for kind, channels in chosen.items():
        channels = set(channels)
        if kind not in KINDS or channels - set(CHANNELS):
            problems[kind] = [_("Unknown alert kind or channel.")]
        elif any(not rules.can_choose(c, telegram_linked=linked, phone_verified=verified) for c in channels):
            problems[kind] = [_("Link Telegram or verify your phone number before choosing it.")]
    if problems:
        raise ValidationFailed(_("Please correct the marked fields."), fields=problems)
    # the person's saves one after the other: a second save of the same choices (two tabs, a double
    # click) finds the rows the first inserted and updates them, instead of failing on the unique key
    db.session.execute(select(User.id).where(User.id == user.id).with_for_update())
    existing = {c.kind: c for c in db.session.execute(
        select(ChannelChoice).filter_by(user_id=user.id).with_for_update()).scalars()}  # fmt: skip
    for kind, channels in chosen.items():
        row = existing.get(kind)
        if row is None:
            row = existing[kind] = ChannelChoice(user_id=user.id, kind=kind)
            db.session.add(row)
        row.email, row.telegram, row.sms = ("email" in channels), ("telegram" in channels), ("sms" in channels)
    return choices(user)


def delivery_channels(kind: str, emails) -> dict[str, dict]:
    """For the alert engine, in one query: {email (lowercase): {"channels": chosen channels that
    can be used now, "address": {channel: chat id or phone}}} for the people among `emails` who
    chose anything for `kind`. Everyone else (and every subscriber without an account) is email.
    One query per EMAILS_PER_QUERY addresses (20,000 subscribers: 20 queries)."""
    emails = sorted({e.lower() for e in emails})
    query = (
        select(func.lower(User.email), ChannelChoice.email, ChannelChoice.telegram, ChannelChoice.sms,
               TelegramLink.chat_id, PhoneNumber.phone)
        .join(ChannelChoice, (ChannelChoice.user_id == User.id) & (ChannelChoice.kind == kind))
        .outerjoin(TelegramLink, TelegramLink.user_id == User.id)
        .outerjoin(PhoneNumber, PhoneNumber.user_id == User.id)
        .where(User.disabled_at.is_(None))
    )  # fmt: skip
    rows = []
    for start in range(0, len(emails), EMAILS_PER_QUERY):  # bound parameters stay far below the drivers' limits
        chunk = emails[start : start + EMAILS_PER_QUERY]
        rows += db.session.execute(query.where(func.lower(User.email).in_(chunk))).all()
    out = {}
    for email, by_email, by_telegram, by_sms, chat_id, phone in rows:
        channels, address = set(), {}
        if by_email:
            channels.add("email")
        if by_telegram and chat_id is not None:
            channels.add("telegram")
            address["telegram"] = str(chat_id)
        if by_sms and phone:
            channels.add("sms")
            address["sms"] = phone
        out[email] = {"channels": channels, "address": address}
    return out


# --- the bot ---------------------------------------------------------------------------------


def _language(code: str | None) -> str:
    code = (code or "").lower()[:2]
    return code if code in ("kk", "ru", "en") else "ru"


def _status_text(receipt: str, user) -> str:
    """The status of the application with this receipt number, or "not found" — the same answer
    for a number that does not exist and for one the person may not see."""
    from ..applications import lifecycle as app_lifecycle
    from ..applications.models import Application, Submission

    found = db.session.execute(
        select(Application, Submission.receipt_number).join(Submission, Submission.application_id == Application.id)
        .where(func.upper(Submission.receipt_number) == receipt)
    ).first()  # fmt: skip
    app = found[0] if found else None
    if app is None or user is None or not rules.can_ask_status(user, app):
        return _("No application with this receipt number was found.")
    return _("%(receipt)s, %(call)s — %(title)s. Status: %(status)s.", receipt=found[1], call=app.call.code,
             title=app.title or "—", status=app_lifecycle.label(app.status))  # fmt: skip


def handle_update(update: dict) -> dict | None:
    """Answer one Telegram update (a private text message); returns the reply for the webhook's
    answer, or None. `/start <code>` or the bare code links the chat; a receipt number returns
    the application's status to a linked member; `/stop` unlinks the chat. An update already
    handled (Telegram delivers again what it thinks was not answered) does nothing, and a chat
    gets at most MESSAGES_PER_CHAT answers (the rest are ignored)."""
    if not isinstance(update, dict):
        return None
    update_id = update.get("update_id")
    if isinstance(update_id, int) and not isinstance(update_id, bool) and not _first_delivery(update_id):
        return None
    message = update.get("message")
    if not isinstance(message, dict):
        return None
    chat, sender, text = message.get("chat") or {}, message.get("from") or {}, message.get("text")
    chat_id = chat.get("id")
    if not isinstance(chat_id, int) or chat.get("type") != "private" or not isinstance(text, str):
        return None
    if not _chat_may_talk(chat_id):
        return None
    text = text.strip()[:200]
    link = db.session.execute(select(TelegramLink).filter_by(chat_id=chat_id)).scalar_one_or_none()
    user = db.session.get(User, link.user_id) if link else None
    language = user.locale if user else _language(sender.get("language_code"))
    command, _sep, argument = text.partition(" ")
    command = command.split("@")[0].lower()
    with force_locale(language):
        if command == "/stop":
            if user is not None:
                unlink_telegram(user)
                return telegram.reply(
                    chat_id, _("This chat is no longer linked to Grants. You will not get alerts here.")
                )
            return telegram.reply(chat_id, _help())
        candidate = argument.strip() if command == "/start" else ("" if text.startswith("/") else text)
        if not candidate:
            return telegram.reply(chat_id, _help())
        if "-" in candidate and RECEIPT_RE.match(candidate.upper().replace(" ", "")):
            return telegram.reply(chat_id, _status_text(candidate.upper().replace(" ", ""), user))
        if len(normalize_code(candidate)) != CODE_LENGTH:
            return telegram.reply(chat_id, _help())
        if not _chat_may_try(chat_id):
            return telegram.reply(chat_id, _("Too many wrong codes. Please try again in an hour."))
        linked = link_chat(chat_id, candidate, sender.get("username"))
        if linked is None:
            _wrong_code(chat_id)
            return telegram.reply(chat_id, _("This code is not valid or has expired. Open “Telegram and SMS” on "
                                             "your account page for a new one."))  # fmt: skip
    with force_locale(linked.locale):
        return telegram.reply(chat_id, _("Done: this chat is linked to your Grants account. Alerts you choose for "
                                         "Telegram will come here. Send a receipt number (e.g. SG-2026-3-0001) to "
                                         "see an application's status."))  # fmt: skip


def _first_delivery(update_id: int) -> bool:
    """Remember the update's id in the request's transaction (INSERT … ON CONFLICT DO NOTHING);
    False when it was handled already. A delivery that fails rolls the id back, so Telegram's
    next delivery is handled; two at once wait for each other on the key, and one does nothing."""
    dialect = db.session.get_bind().dialect.name
    table = TelegramUpdate.__table__
    statement = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    now = clock.now()
    statement = statement.values(update_id=update_id, received_at=now).on_conflict_do_nothing(
        index_elements=["update_id"]
    )
    if db.session.execute(statement.returning(table.c.update_id)).first() is None:
        return False
    if update_id % 100 == 0:  # now and then, forget the old ones
        db.session.execute(delete(TelegramUpdate).where(TelegramUpdate.received_at < now - UPDATES_KEPT))
    return True


def _chat_may_talk(chat_id: int) -> bool:
    """Counts the chat's messages in the rate-limit storage; False past MESSAGES_PER_CHAT."""
    from limits import parse

    from ..extensions import limiter

    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX", "grants")
    return limiter.limiter.hit(parse(MESSAGES_PER_CHAT), prefix, "telegram-chat", str(chat_id))


def _help() -> str:
    return _("This is the Grants bot. To link it, open “Telegram and SMS” on your account page and follow the link, "
             "or send the code shown there. Send a receipt number to see your application's status.")  # fmt: skip
