"""Locale choice, Asia/Almaty times and per-locale formatting of dates and tenge."""

from __future__ import annotations

import importlib.resources
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from zoneinfo import ZoneInfo

from babel import dates as babel_dates
from babel import numbers as babel_numbers
from flask import current_app, g, has_request_context, request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user

LANGUAGES = ("kk", "ru", "en")
DEFAULT_LOCALE = "ru"
LANGUAGE_COOKIE = "lang"
LANGUAGE_NAMES = {"kk": "Қазақша", "ru": "Русский", "en": "English"}


def select_locale() -> str:
    """The user's setting, then the cookie, then Accept-Language; Russian by default."""
    if not has_request_context():
        return DEFAULT_LOCALE
    forced = g.get("forced_locale")
    if forced:
        return forced
    if getattr(current_user, "is_authenticated", False) and current_user.locale in LANGUAGES:
        return current_user.locale
    cookie = request.cookies.get(LANGUAGE_COOKIE)
    if cookie in LANGUAGES:
        return cookie
    return request.accept_languages.best_match(LANGUAGES) or DEFAULT_LOCALE


def current_locale() -> str:
    locale = get_locale()
    return str(locale) if locale else DEFAULT_LOCALE


@cache
def zone(name: str = "Asia/Almaty") -> ZoneInfo:
    """The display zone, read from the tzdata package so an old system database cannot
    bring back Almaty's former UTC+6 offset (Kazakhstan moved to UTC+5 in 2024)."""
    try:
        resource = importlib.resources.files("tzdata.zoneinfo").joinpath(*name.split("/"))
        with resource.open("rb") as fh:
            return ZoneInfo.from_file(fh, key=name)
    except (FileNotFoundError, ModuleNotFoundError):
        return ZoneInfo(name)


def display_zone() -> ZoneInfo:
    return zone(current_app.config.get("TIMEZONE", "Asia/Almaty"))


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Datetimes are stored naive-UTC in SQLite; make them aware."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def zone_label(value: datetime | None = None) -> str:
    """'Astana time (UTC+5)' in the current language."""
    local = as_utc(value or utcnow()).astimezone(display_zone())
    offset = local.utcoffset()
    hours = int(offset.total_seconds() // 3600) if offset else 0
    minutes = int(abs(offset.total_seconds()) % 3600 // 60) if offset else 0
    utc = f"UTC{hours:+d}" + (f":{minutes:02d}" if minutes else "")
    return str(_l("Astana time (%(offset)s)", offset=utc))


def format_datetime(value: datetime | None, with_zone: bool = True) -> str:
    if value is None:
        return ""
    local = as_utc(value).astimezone(display_zone())
    locale = current_locale()
    date_text = babel_dates.format_date(local.date(), "long", locale=locale)
    time_text = babel_dates.format_time(local.time(), "HH:mm", locale=locale)
    text = f"{date_text}, {time_text}"
    return f"{text} {zone_label(value)}" if with_zone else text


def format_date(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = as_utc(value).astimezone(display_zone()).date()
    return babel_dates.format_date(value, "long", locale=current_locale())


def format_money(amount, currency: str = "KZT") -> str:
    """Whole tenge with the ₸ sign in every language (Babel's ru data writes "KZT")."""
    if amount is None:
        return ""
    if currency == "KZT":
        number = babel_numbers.format_decimal(Decimal(amount), "#,##0", locale=current_locale())
        return f"{number}\u00a0₸"
    return babel_numbers.format_currency(Decimal(amount), currency, locale=current_locale())


def format_number(value) -> str:
    if value is None:
        return ""
    return babel_numbers.format_decimal(value, locale=current_locale())


def init_app(app) -> None:
    app.jinja_env.filters.update(datetime=format_datetime, date=format_date, money=format_money, number=format_number)
    app.jinja_env.globals.update(
        LANGUAGES=LANGUAGES, LANGUAGE_NAMES=LANGUAGE_NAMES, current_locale=current_locale, zone_label=zone_label
    )
