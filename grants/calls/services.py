"""Calls: create/edit while draft, publish, wording corrections after publication, public
listing (the rules are checked in cleaning.py). Shared by the manager pages and the API."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from flask_babel import gettext as _
from sqlalchemy import and_, exists, or_, select
from werkzeug.datastructures import FileStorage

from ..audit.models import AuditEvent
from ..audit.services import changes, record
from ..core import clock, uploads
from ..core.db import lock, transactional
from ..core.errors import Conflict, ValidationFailed
from ..core.tasks import enqueue_after_commit
from ..extensions import db
from ..i18n import display_zone
from . import lifecycle
from .cleaning import DEFAULTS, LANGS, PRIORITY_COLUMNS, PRIORITY_DEFAULTS, WORDING, clean, plain_text
from .lifecycle import Status
from .models import Call, CallRegion, Criterion, Theme, call_theme


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

    enqueue_after_commit("grants.announce_call", call_id)
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
            howto = plain_text((data.get(section) or {}).get(lang, {}).get("howto"), 3000)
            example = plain_text((data.get(section) or {}).get(lang, {}).get("example"), 3000)
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
    clean_names = {lang: plain_text((names or {}).get(lang), 120) for lang in LANGS}
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
