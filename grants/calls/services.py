"""Calls: validation of the rules, create/edit while draft, publish, wording corrections
after publication, public listing. Shared by the manager pages and the API."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from flask_babel import gettext as _
from sqlalchemy import and_, exists, or_, select
from werkzeug.datastructures import FileStorage

from ..audit.models import AuditEvent
from ..audit.services import changes, record
from ..core import clock, uploads
from ..core.db import lock, on_commit, transactional
from ..core.errors import Conflict, ValidationFailed
from ..core.validation import FieldErrors, parse_integer
from ..extensions import db
from ..i18n import display_zone
from ..organizations.reference import REGIONS
from . import lifecycle
from .lifecycle import Status
from .models import Call, CallRegion, Criterion, Theme, call_theme

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


def to_dict(call: Call) -> dict:
    """The call's rules as plain data (the API's shape)."""
    data = {
        "code": call.code,
        "title": {lang: getattr(call, f"title_{lang}") for lang in LANGS},
        "description": {lang: getattr(call, f"description_{lang}") for lang in LANGS},
        "currency": call.currency,
        "envelope": call.envelope,
        "min_amount": call.min_amount,
        "max_amount": call.max_amount,
        "opens_at": call.opens_at,
        "closes_at": call.closes_at,
        "themes": [t.code for t in call.themes],
        "regions": call.regions,
        "alert_offsets_days": list(call.alert_offsets_days or []),
        "priority": {key: getattr(call, PRIORITY_COLUMNS.get(key, key)) for key in PRIORITY_DEFAULTS},
        "criteria": [
            {
                "key": c.key,
                "title": {lang: getattr(c, f"title_{lang}") for lang in LANGS},
                "weight": c.weight,
                "max_score": c.max_score,
            }
            for c in call.criteria
        ],  # fmt: skip
    }
    for key in DEFAULTS:
        if key not in data:
            value = getattr(call, key)
            data[key] = float(value) if key.endswith("threshold") else value
    return data


def _text(value, limit: int) -> str:
    return str(value or "").strip()[:limit]


def _multilingual(value, field: str, errors: FieldErrors, *, required: bool, limit: int) -> dict:
    if not isinstance(value, dict):
        value = {}
    out = {lang: _text(value.get(lang), limit) for lang in LANGS}
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
    code = _text(data.get("code"), 60)
    if not CODE_RE.match(code):
        errors.add("code", _("2–40 Latin letters, digits, '-' or '_', e.g. SG-2027-1."))
    out["code"] = code
    out["title"] = _multilingual(data.get("title"), "title", errors, required=True, limit=300)
    out["description"] = _multilingual(data.get("description"), "description", errors, required=False, limit=20000)
    currency = _text(data.get("currency") or "KZT", 3).upper()
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
        key = _text(row.get("key"), 40).lower()
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


def _apply(call: Call, values: dict) -> None:
    call.code = values["code"]
    for field in WORDING:
        for lang in LANGS:
            setattr(call, f"{field}_{lang}", values[field][lang])
    for key in ("currency", "envelope", "min_amount", "max_amount", "opens_at", "closes_at", "blind_review",
                "alert_offsets_days", "quality_threshold", "divergence_threshold", "consortium_min_members",
                "consortium_max_members", "max_awards", "max_awards_per_consortium", "max_consortia",
                "reviewers_per_application"):  # fmt: skip
        setattr(call, key, values[key])
    for key, value in values["priority"].items():
        setattr(call, PRIORITY_COLUMNS.get(key, key), value)
    call.themes = list(db.session.execute(select(Theme).where(Theme.code.in_(values["themes"]))).scalars())
    call.region_rows = [CallRegion(region=code) for code in values["regions"]]
    if call.id is not None and call.criteria:
        call.criteria = []
        db.session.flush()  # delete the old rows before inserting keys that may repeat
    call.criteria = [
        Criterion(key=c["key"], weight=c["weight"], max_score=c["max_score"], position=i,
                  **{f"title_{lang}": c["title"][lang] for lang in LANGS})
        for i, c in enumerate(values["criteria"])
    ]  # fmt: skip


def _store_guideline(call: Call, guideline: FileStorage | None) -> bool:
    if guideline is None or not guideline.filename:
        return False
    stored = uploads.store(guideline, allowed=("pdf", "docx"), folder="guidelines")
    call.guideline_path, call.guideline_filename = stored.path, stored.filename
    call.guideline_sha256, call.guideline_content_type = stored.sha256, stored.content_type
    return True


def _norm(value):
    """A value in a form that compares equal however it was written (string, number, time)."""
    if isinstance(value, dict):
        return {k: _norm(v) for k, v in value.items() if v not in ("", None)}
    if isinstance(value, list | tuple):
        items = [_norm(v) for v in value]
        return items if any(isinstance(i, dict) for i in items) else sorted(items, key=str)
    if isinstance(value, bool):
        return value
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    text = str(value).strip()
    try:
        return float(text.replace(" ", ""))
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    return (moment if moment.tzinfo else moment.replace(tzinfo=display_zone())).astimezone(UTC).isoformat()


def _comparable(values: dict) -> dict:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in values.items()}


@transactional
def create(actor, data: dict, guideline: FileStorage | None = None) -> Call:
    values = clean(data)
    call = Call(created_by_id=actor.id)
    _apply(call, values)
    _store_guideline(call, guideline)
    db.session.add(call)
    db.session.flush()
    record(actor, "call.created", "call", call.id, after=_comparable(values))
    return call


@transactional
def update(actor, call: Call, data: dict, guideline: FileStorage | None = None) -> Call:
    """A draft may change freely. Once published, rules that affect scoring or eligibility are
    locked; only wording (titles, descriptions, the guideline) may be corrected, and each
    correction is recorded and shown on the public page."""
    lock(call)  # two editors: the second sees the first one's rules before comparing
    current = to_dict(call)
    before = _comparable(current)
    if lifecycle.rules_locked(call):
        locked = sorted(k for k in data if k not in WORDING and k in current and _norm(data[k]) != _norm(current[k]))
        if locked:
            raise Conflict(
                _("The rules of a published call are locked; only titles, descriptions and the guideline can be "
                  "corrected. Locked fields changed: %(fields)s.", fields=", ".join(locked)),
                fields={k: [_("Locked after publication.")] for k in locked}, code="rules_locked",
            )  # fmt: skip
        data = current | {k: data[k] for k in WORDING if k in data}
    values = clean(data, current=call)
    after = _comparable(values)
    _apply(call, values)
    new_guideline = _store_guideline(call, guideline)
    old, new = changes(before, after)
    if new_guideline:
        new["guideline_sha256"] = call.guideline_sha256
    if new:
        action = "call.corrected" if lifecycle.rules_locked(call) else "call.updated"
        record(actor, action, "call", call.id, before=old, after=new)
    return call


@transactional
def publish(actor, call: Call) -> Call:
    """Publish (locks the rules) and announce to matching subscribers right after the commit."""
    lock(call)
    if lifecycle.is_draft(call) and call.closes_at <= clock.now():
        raise ValidationFailed(
            _("The deadline has already passed; move it into the future before publishing."),
            fields={"closes_at": [_("The deadline is in the past.")]}, code="deadline_in_past",
        )  # fmt: skip
    if lifecycle.is_draft(call):
        clean(to_dict(call), current=call)  # a draft saved earlier must still satisfy every rule
    lifecycle.transition(call, Status.PUBLISHED, actor, locked=True)
    call_id = call.id

    def announce() -> None:
        from worker.tasks import announce_call

        announce_call.delay(call_id)

    on_commit(announce)
    return call


@transactional
def advance(actor, call: Call, to: Status) -> Call:
    """A manager moves the call on (start the review, decided, archived) along the lifecycle."""
    lifecycle.transition(call, to, actor)
    return call


def corrections(call: Call) -> list[AuditEvent]:
    return list(
        db.session.execute(
            select(AuditEvent).where(AuditEvent.object_type == "call", AuditEvent.object_id == call.id,
                                     AuditEvent.action == "call.corrected").order_by(AuditEvent.id)
        ).scalars()
    )  # fmt: skip


def themes() -> list[Theme]:
    return list(db.session.execute(select(Theme).order_by(Theme.position, Theme.code)).scalars())


def public_calls(*, region: str | None = None, theme: str | None = None) -> dict[str, list[Call]]:
    """Published and later calls grouped open / upcoming / closed, open ones by deadline."""
    now = clock.now()
    query = select(Call).where(Call.status.in_(lifecycle.PUBLIC))
    if region:
        open_to_all = ~exists().where(CallRegion.call_id == Call.id)
        query = query.where(
            or_(open_to_all, exists().where(and_(CallRegion.call_id == Call.id, CallRegion.region == region)))
        )
    if theme:
        query = query.where(exists().where(and_(call_theme.c.call_id == Call.id, call_theme.c.theme_code == theme)))
    groups: dict[str, list[Call]] = {"open": [], "upcoming": [], "closed": []}
    for call in db.session.execute(query.order_by(Call.closes_at)).scalars():
        if lifecycle.is_open(call, now):
            groups["open"].append(call)
        elif lifecycle.is_upcoming(call, now):
            groups["upcoming"].append(call)
        else:
            groups["closed"].append(call)
    groups["upcoming"].sort(key=lambda c: c.opens_at)
    groups["closed"].sort(key=lambda c: c.closes_at, reverse=True)
    return groups


@transactional
def set_section_help(actor, call: Call, data: dict) -> Call:
    """The programme's how-to and example per application section and language. Wording only,
    so it may change at any time; each change is audited."""
    from ..applications.sections import SECTIONS

    out: dict = {}
    for section in SECTIONS:
        for lang in LANGS:
            howto = _text((data.get(section) or {}).get(lang, {}).get("howto"), 3000)
            example = _text((data.get(section) or {}).get(lang, {}).get("example"), 3000)
            if howto or example:
                out.setdefault(section, {})[lang] = {"howto": howto, "example": example}
    before = call.section_help or {}
    call.section_help = out or None
    if out != before:
        record(actor, "call.help_updated", "call", call.id, before=before, after=out)
    return call


@transactional
def save_theme(actor, *, code: str, names: dict, position) -> Theme:
    """Add or rename a theme (the list calls and subscriptions choose from)."""
    code = (code or "").strip().lower()
    errors: dict[str, list[str]] = {}
    if not re.fullmatch(r"[a-z][a-z0-9_]{1,39}", code):
        errors["code"] = [_("Use small Latin letters, digits and '_', e.g. relevance.")]
    clean_names = {lang: _text((names or {}).get(lang), 120) for lang in LANGS}
    for lang in LANGS:
        if not clean_names[lang]:
            errors[f"name_{lang}"] = [_("This field is required.")]
    try:
        order = int(position or 0)
    except (TypeError, ValueError):
        errors["position"] = [_("Please enter a whole number.")]
        order = 0
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), fields=errors)
    theme = db.session.get(Theme, code)
    before = {lang: getattr(theme, f"name_{lang}") for lang in LANGS} if theme else None
    if theme is None:
        theme = Theme(code=code)
        db.session.add(theme)
    for lang in LANGS:
        setattr(theme, f"name_{lang}", clean_names[lang])
    theme.position = order
    record(actor, "theme.saved", "theme", None, before=before, after={"code": code, **clean_names})
    return theme
