"""Locale choice, Asia/Almaty times and per-locale formatting of dates and tenge."""

from __future__ import annotations

import importlib.resources
import re
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from zoneinfo import ZoneInfo

from babel import dates as babel_dates
from babel import numbers as babel_numbers
from flask import current_app, g, has_request_context, request
from flask_babel import get_locale, lazy_pgettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user

LANGUAGES = ("kk", "ru", "en")
DEFAULT_LOCALE = "ru"
LANGUAGE_COOKIE = "lang"
LANGUAGE_NAMES = {"kk": "Қазақша", "ru": "Русский", "en": "English"}
# A language named inside a text in another language (a PDF field, an email): «орыс тілі», «русский».
LANGUAGE_NAMES_IN_TEXT = {
    "kk": lazy_pgettext("language in a text", "Kazakh"),
    "ru": lazy_pgettext("language in a text", "Russian"),
    "en": lazy_pgettext("language in a text", "English"),
}
# What an applicant or the public is told: an outcome, never the manager's button label.
OUTCOMES = {
    "award": lazy_pgettext("outcome", "grant awarded"),
    "reserve": lazy_pgettext("outcome", "on the reserve list"),
    "reject": lazy_pgettext("outcome", "grant not awarded"),
    "override_award": lazy_pgettext("outcome", "grant awarded by a justified decision"),
    "override_reject": lazy_pgettext("outcome", "grant not awarded by a justified decision"),
}
# Alphabetical order of each display language (Kazakh letters in their own places).
ALPHABETS = {
    "kk": "аәбвгғдеёжзийкқлмнңоөпрстуұүфхһцчшщъыіьэюя",
    "ru": "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
}


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


def utc_offset(value: datetime | None = None) -> str:
    """'UTC+5' for the display zone at that moment."""
    local = as_utc(value or utcnow()).astimezone(display_zone())
    offset = local.utcoffset()
    hours = int(offset.total_seconds() // 3600) if offset else 0
    minutes = int(abs(offset.total_seconds()) % 3600 // 60) if offset else 0
    return f"UTC{hours:+d}" + (f":{minutes:02d}" if minutes else "")


def zone_label(value: datetime | None = None) -> str:
    """'Astana time (UTC+5)' in the current language (a name on its own, e.g. in a footnote)."""
    return str(_l("Astana time (%(offset)s)", offset=utc_offset(value)))


def format_datetime(value: datetime | None, with_zone: bool = True) -> str:
    """The one place a moment is written with its zone, composed per language:
    ru «15 декабря 2026 г., 18:00 по времени Астаны (UTC+5)»,
    kk «2026 ж. 15 желтоқсан, Астана уақытымен 18:00 (UTC+5)»."""
    if value is None:
        return ""
    local = as_utc(value).astimezone(display_zone())
    locale = current_locale()
    date_text = babel_dates.format_date(local.date(), "long", locale=locale)
    time_text = babel_dates.format_time(local.time(), "HH:mm", locale=locale)
    if not with_zone:
        return f"{date_text}, {time_text}"
    text = _l("%(date)s, %(time)s Astana time (%(offset)s)", date=date_text, time=time_text, offset=utc_offset(value))
    return str(text)


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


def format_number(value, digits: int = 2) -> str:
    """A score, threshold, quantity or indicator in the current locale: a decimal comma in kk/ru,
    no ".00" on whole numbers (94,33; 60; 8; 140). Text that is not a number is returned as it is."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return str(value)
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        return str(value)
    if not number.is_finite():
        return str(value)
    pattern = "#,##0" + ("." + "#" * digits if digits else "")
    return babel_numbers.format_decimal(number, pattern, locale=current_locale())


def outcome_label(code) -> str:
    """A decision as the applicant and the public read it («грант присуждён», «грант берілді»)."""
    label = OUTCOMES.get(str(code))
    return str(label) if label is not None else str(code)


def language_name(code) -> str:
    """A language's name inside a text in the current language (kk «орыс тілі», ru «русский»)."""
    label = LANGUAGE_NAMES_IN_TEXT.get(str(code))
    return str(label) if label is not None else str(code)


def quoted(name) -> str:
    """A name in quotes, never doubled or nested the same way: kk/ru «Чистый Арал»; a name that
    already has «» inside keeps them as inner „…“ (ОФ «Каспий» → «ОФ „Каспий“»); a name that is
    wholly quoted already is not wrapped again; English “…”."""
    text = str(name or "").strip()
    if not text:
        return ""
    if _wholly_quoted(text):
        text = text[1:-1].strip()
    if current_locale() == "en":
        return f"\u201c{text}\u201d"
    return "«" + text.replace("«", "\u201e").replace("»", "\u201c") + "»"


def _wholly_quoted(text: str) -> bool:
    """«…» around the whole text (the first « closes at the very end)."""
    if not (text.startswith("«") and text.endswith("»")):
        return False
    depth = 0
    for i, char in enumerate(text):
        depth += {"«": 1, "»": -1}.get(char, 0)
        if depth == 0:
            return i == len(text) - 1
    return False


# A day with its month and a year with its «г.»/«ж.» stay on one line (PDF table cells).
_DAY_MONTH = re.compile(r"(?<![\d:.,])(\d{1,2}) (?=[^\W\d_])")
_YEAR_MARK = re.compile(r"(\d{4}) (?=(?:г|ж)\.)")


def nobreak(text) -> str:
    """«15 декабря 2026 г.» → «15⍽декабря 2026⍽г.», kk «2026⍽ж. 15⍽желтоқсан» (no-break spaces)."""
    return _YEAR_MARK.sub("\\1\u00a0", _DAY_MONTH.sub("\\1\u00a0", str(text)))


def collation_key(text: str, locale: str | None = None) -> tuple:
    """Sort key in the alphabetical order of the display language (Kazakh ә after а, ғ after г, …)."""
    alphabet = ALPHABETS.get(locale or current_locale())
    if not alphabet:
        return tuple(str(text).casefold())
    order = {letter: i for i, letter in enumerate(alphabet)}
    return tuple((0, order[c]) if c in order else (1, ord(c)) for c in str(text).casefold())


def init_app(app) -> None:
    app.jinja_env.filters.update(
        datetime=format_datetime, date=format_date, money=format_money, number=format_number, quoted=quoted,
        nobreak=nobreak,
    )
    app.jinja_env.globals.update(
        LANGUAGES=LANGUAGES,
        LANGUAGE_NAMES=LANGUAGE_NAMES,
        current_locale=current_locale,
        zone_label=zone_label,
        outcome_label=outcome_label,
        language_in_text=language_name,
    )
