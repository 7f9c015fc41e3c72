"""A call's rules as submitted (editor form or API body) turned into clean values, every
problem collected per field in the user's language: codes, multilingual texts, amounts, dates,
caps, priority settings and criteria (weights summing to 100)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from flask_babel import gettext as _
from sqlalchemy import select

from ..core.errors import Conflict, ValidationFailed
from ..core.validation import FieldErrors, parse_integer
from ..extensions import db
from ..i18n import display_zone
from ..organizations.reference import REGIONS
from .models import Call, Theme

LANGS = ("kk", "ru", "en")
WORDING = ("title", "description")  # may be corrected after publication
CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{1,39}$")
KEY_RE = re.compile(r"^[a-z0-9_]{1,40}$")
PRIORITY_DEFAULTS = {
    "women_led_points": 10, "youth_led_points": 10, "rural_points": 5, "newcomer_points": 0,
    "cap": 20, "basis": "lead", "youth_age_min": 18, "youth_age_max": 35,
}  # fmt: skip
DEFAULTS = {
    "currency": "KZT", "consortium_min_members": 2, "consortium_max_members": 6, "max_awards": 20,
    "max_awards_per_consortium": 4, "max_consortia": 5, "reviewers_per_application": 3, "blind_review": True,
    "quality_threshold": 60, "divergence_threshold": 25, "alert_offsets_days": [30, 14, 7, 3, 1],
    "themes": [], "regions": [],
}  # fmt: skip
PRIORITY_COLUMNS = {"cap": "priority_cap", "basis": "priority_basis"}


def plain_text(value, limit: int) -> str:
    return str(value or "").strip()[:limit]


def _multilingual(value, field: str, errors: FieldErrors, *, required: bool, limit: int) -> dict:
    if not isinstance(value, dict):
        value = {}
    out = {lang: plain_text(value.get(lang), limit) for lang in LANGS}
    if required and not (out["kk"] or out["ru"]):
        errors.add(field, _("Enter the text in Kazakh or Russian (at least one of them)."))
    return out


def _number(value, field: str, errors: FieldErrors, *, low: float, high: float) -> float | None:
    try:
        number = float(str(value).replace(",", "."))
    except (TypeError, ValueError):
        errors.add(field, _("Please enter a number."))
        return None
    if not low <= number <= high:
        errors.add(field, _("Please enter a number from %(low)d to %(high)d.", low=low, high=high))
        return None
    return number


def parse_time(value, field: str, errors: FieldErrors) -> datetime | None:
    """ISO 8601; a time without an offset is Astana time (what managers type)."""
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value or "").strip())
        except ValueError:
            errors.add(field, _("Enter a date and time, e.g. 2026-03-31 18:00."))
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=display_zone())
    return moment.astimezone(UTC)


def clean(data: dict, *, current: Call | None = None) -> dict:
    """Every rule of a call validated together; ValidationFailed lists each problem by field."""
    errors = FieldErrors()
    out: dict = {}
    code = plain_text(data.get("code"), 60)
    if not CODE_RE.match(code):
        errors.add("code", _("2–40 Latin letters, digits, '-' or '_', e.g. SG-2027-1."))
    out["code"] = code
    out["title"] = _multilingual(data.get("title"), "title", errors, required=True, limit=300)
    out["description"] = _multilingual(data.get("description"), "description", errors, required=False, limit=20000)
    currency = plain_text(data.get("currency") or "KZT", 3).upper()
    if not re.fullmatch(r"[A-Z]{3}", currency):
        errors.add("currency", _("A three-letter currency code, e.g. KZT."))
    out["currency"] = currency
    for key in ("envelope", "min_amount", "max_amount"):
        out[key] = parse_integer(data.get(key), key, errors, low=0, high=10**13)
    if out["envelope"] is not None and out["envelope"] <= 0:
        errors.add("envelope", _("The envelope must be more than zero."))
    if None not in (out["min_amount"], out["max_amount"]) and out["min_amount"] > out["max_amount"]:
        errors.add("max_amount", _("The maximum amount cannot be less than the minimum."))
    if None not in (out["max_amount"], out["envelope"]) and out["max_amount"] > out["envelope"]:
        errors.add("max_amount", _("The maximum amount cannot exceed the envelope."))
    out["opens_at"] = parse_time(data.get("opens_at"), "opens_at", errors)
    out["closes_at"] = parse_time(data.get("closes_at"), "closes_at", errors)
    if out["opens_at"] and out["closes_at"] and out["closes_at"] <= out["opens_at"]:
        errors.add("closes_at", _("The deadline must be after the opening time."))
    known_themes = set(db.session.execute(select(Theme.code)).scalars())
    out["themes"] = sorted({str(t) for t in (data.get("themes") or [])})
    if set(out["themes"]) - known_themes:
        errors.add("themes", _("Unknown theme: %(codes)s.", codes=", ".join(sorted(set(out["themes"]) - known_themes))))
    out["regions"] = sorted({str(r) for r in (data.get("regions") or [])})
    if set(out["regions"]) - set(REGIONS):
        errors.add(
            "regions", _("Unknown region: %(codes)s.", codes=", ".join(sorted(set(out["regions"]) - set(REGIONS))))
        )
    limits = {
        "consortium_min_members": (1, 20), "consortium_max_members": (1, 20), "max_awards": (1, 1000),
        "max_awards_per_consortium": (1, 1000), "max_consortia": (1, 1000), "reviewers_per_application": (1, 10),
    }  # fmt: skip
    for key, (low, high) in limits.items():
        out[key] = parse_integer(data.get(key, DEFAULTS[key]), key, errors, low=low, high=high)
    if None not in (out["consortium_min_members"], out["consortium_max_members"]) and (
        out["consortium_min_members"] > out["consortium_max_members"]
    ):
        errors.add("consortium_max_members", _("The maximum cannot be less than the minimum."))
    out["blind_review"] = bool(data.get("blind_review", DEFAULTS["blind_review"]))
    for key in ("quality_threshold", "divergence_threshold"):
        out[key] = _number(data.get(key, DEFAULTS[key]), key, errors, low=0, high=100)
    offsets = data.get("alert_offsets_days", DEFAULTS["alert_offsets_days"])
    if isinstance(offsets, str):
        offsets = [part for part in re.split(r"[,\s]+", offsets) if part]
    clean_offsets = []
    for item in offsets if isinstance(offsets, list) else [None]:
        number = parse_integer(item, "alert_offsets_days", errors, low=1, high=365)
        if number is not None:
            clean_offsets.append(number)
    out["alert_offsets_days"] = sorted(set(clean_offsets), reverse=True)
    priority = data.get("priority") if isinstance(data.get("priority"), dict) else {}
    out["priority"] = {}
    for key, default in PRIORITY_DEFAULTS.items():
        value = priority.get(key, default)
        if key == "basis":
            if value not in ("lead", "majority"):
                errors.add("priority.basis", _("Choose 'lead' or 'majority'."))
            out["priority"][key] = value
        elif key.startswith("youth_age"):
            out["priority"][key] = parse_integer(value, f"priority.{key}", errors, low=14, high=40)
        else:
            out["priority"][key] = parse_integer(value, f"priority.{key}", errors, low=0, high=100)
    ages = (out["priority"]["youth_age_min"], out["priority"]["youth_age_max"])
    if None not in ages and ages[0] >= ages[1]:
        errors.add("priority.youth_age_max", _("The upper age must be above the lower age."))
    out["criteria"] = _clean_criteria(data.get("criteria"), errors)
    if code and "code" not in errors:
        query = select(Call.id).where(Call.code == code)
        if current is not None:
            query = query.where(Call.id != current.id)
        if db.session.execute(query).first():
            raise Conflict(_("A call with this code already exists."), fields={"code": [_("Already in use.")]},
                           code="code_taken")  # fmt: skip
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), fields=dict(errors))
    return out


def _clean_criteria(rows, errors: FieldErrors) -> list[dict]:
    if not isinstance(rows, list) or not rows:
        errors.add("criteria", _("Add at least one criterion."))
        return []
    out, seen, total = [], set(), 0
    for i, row in enumerate(rows):
        row = row if isinstance(row, dict) else {}
        key = plain_text(row.get("key"), 40).lower()
        if not KEY_RE.match(key):
            errors.add(f"criteria.{i}.key", _("Use small Latin letters, digits and '_', e.g. relevance."))
        elif key in seen:
            errors.add(f"criteria.{i}.key", _("Each criterion needs its own key; '%(key)s' is used twice.", key=key))
        seen.add(key)
        title = _multilingual(row.get("title"), f"criteria.{i}.title", errors, required=True, limit=300)
        weight = parse_integer(row.get("weight"), f"criteria.{i}.weight", errors, low=1, high=100)
        max_score = parse_integer(row.get("max_score"), f"criteria.{i}.max_score", errors, low=1, high=100)
        total += weight or 0
        out.append({"key": key, "title": title, "weight": weight, "max_score": max_score})
    if total != 100:
        errors.add("criteria", _("The weights must total 100; now they total %(total)d.", total=total))
    return out
