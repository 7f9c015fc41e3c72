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


SHORT_NOTICE_REASON_MIN, SHORT_NOTICE_REASON_MAX = 20, 2000  # characters: a sentence, not "urgent"


@transactional
def publish(actor, call: Call, *, short_notice_reason: str | None = None) -> Call:
    """Publish (locks the rules) and announce to matching subscribers right after the commit.
    NGOs need time to write: a call closing less than MIN_LEAD_DAYS after publication needs the
    manager's reason, which is stored, audited and shown publicly (page, API, announcement)."""
    from flask import current_app
    from flask_babel import ngettext

    lock(call)
    if lifecycle.is_draft(call) and call.closes_at <= clock.now():
        raise ValidationFailed(
            _("The deadline has already passed; move it into the future before publishing."),
            fields={"closes_at": [_("The deadline is in the past.")]}, code="deadline_in_past",
        )  # fmt: skip
    reason = (short_notice_reason or "").strip() or None
    if reason and len(reason) > SHORT_NOTICE_REASON_MAX:
        message = _("Too long: at most %(n)d characters.", n=SHORT_NOTICE_REASON_MAX)
        raise ValidationFailed(message, fields={"short_notice_reason": [message]}, code="short_notice")
    minimum = int(current_app.config["MIN_LEAD_DAYS"])
    left = call.days_to_deadline()
    if not lifecycle.is_draft(call) or left >= minimum:
        reason = None  # enough time (or nothing to publish): no reason is stored or shown
    elif reason is None or len(reason) < SHORT_NOTICE_REASON_MIN:
        message = " ".join((
            ngettext("Only %(num)d day is left before the deadline.", "Only %(num)d days are left before the deadline.",
                     left),
            ngettext("A call is published at least %(num)d day before its deadline; to publish it sooner, give a "
                     "reason (it is shown publicly).", "A call is published at least %(num)d days before its "
                     "deadline; to publish it sooner, give a reason (it is shown publicly).", minimum),
        ))  # fmt: skip
        field = (_("Please explain in at least %(n)d characters.", n=SHORT_NOTICE_REASON_MIN) if reason
                 else _("Please give the reason; it is shown on the call's public page."))  # fmt: skip
        raise ValidationFailed(message, fields={"short_notice_reason": [field]}, code="short_notice")
    if lifecycle.is_draft(call):
        clean(to_dict(call), current=call)  # a draft saved earlier must still satisfy every rule
    details = {"short_notice_reason": reason} if reason else {}
    lifecycle.transition(call, Status.PUBLISHED, actor, locked=True, **details)
    call.short_notice_reason = reason
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


# --- copy a call -----------------------------------------------------------------------------

# What a copy does not take from its original: its identity, status, publication and decision
# moments, authorship, and the guideline's storage key (the file is copied to a key of its own).
# Every other column is a rule or a text and is copied, including columns added later.
COPY_SKIPPED = frozenset({"id", "code", "status", "published_at", "decided_at", "short_notice_reason", "created_by_id",
                          "created_at", "updated_at", "guideline_path"})  # fmt: skip
COPY_SUFFIX = re.compile(r"-copy(-\d+)?$")


def _copy_code(code: str) -> str:
    """`<code>-copy`, then `<code>-copy-2`, … : the first one no call has (a copy of a copy
    counts on from the same stem), cut so it stays within the 40 characters a code may have."""
    stem = COPY_SUFFIX.sub("", code) or code
    n = 1
    while True:
        suffix = "-copy" if n == 1 else f"-copy-{n}"
        candidate = stem[: 40 - len(suffix)].rstrip("-_") + suffix
        if not db.session.execute(select(Call.id).where(Call.code == candidate)).first():
            return candidate
        n += 1


def _years_later(moment: datetime, years: int) -> datetime:
    """The same Astana wall-clock time `years` later (29 February becomes 28 February)."""
    local = moment.astimezone(display_zone())
    try:
        shifted = local.replace(year=local.year + years)
    except ValueError:
        shifted = local.replace(year=local.year + years, day=28)
    return shifted.astimezone(UTC)


@transactional
def copy(actor, call: Call) -> Call:
    """A new draft with every rule and text of `call` (money, dates, eligibility, criteria,
    priority points, alerts, review settings, writing help, the guideline file): a new unique code,
    the dates moved on by whole years until the deadline is in the future (at least the minimum lead
    time ahead), no applications and no publication. Managers only; recorded as `call.copied`."""
    import copy as deep
    import logging
    import uuid
    from datetime import timedelta
    from pathlib import PurePosixPath

    from flask import current_app

    from ..core import storage
    from ..core.errors import Forbidden
    from .rules import can_manage

    if not can_manage(actor):
        raise Forbidden(_("Only programme managers can copy a call."))
    lock(call)  # two copies of one call at once: the second sees the first one's code
    # Far enough ahead that the copy could be published without a short-notice reason.
    earliest = clock.now() + timedelta(days=current_app.config["MIN_LEAD_DAYS"])
    years = 0
    while _years_later(call.closes_at, years) <= earliest:
        years += 1
    new = Call(status=Status.DRAFT, code=_copy_code(call.code), created_by_id=actor.id)
    for column in Call.__table__.columns:
        if column.key not in COPY_SKIPPED:
            setattr(new, column.key, deep.deepcopy(getattr(call, column.key)))
    new.opens_at, new.closes_at = _years_later(call.opens_at, years), _years_later(call.closes_at, years)
    new.themes = list(call.themes)
    new.region_rows = [CallRegion(region=code) for code in call.regions]
    new.criteria = [
        Criterion(**{c.key: getattr(criterion, c.key) for c in Criterion.__table__.columns
                     if c.key not in ("id", "call_id")})
        for criterion in call.criteria
    ]  # fmt: skip
    if call.guideline_path:
        try:
            data = storage.storage().get(call.guideline_path)
        except FileNotFoundError:
            logging.getLogger(__name__).warning("call %s: guideline %s is missing; copied without it", call.id,
                                                call.guideline_path)  # fmt: skip
            new.guideline_filename = new.guideline_sha256 = new.guideline_content_type = None
        else:
            key = f"guidelines/{uuid.uuid4().hex}{PurePosixPath(call.guideline_path).suffix}"  # as the editor stores
            storage.save(key, data, call.guideline_content_type or "application/octet-stream")
            new.guideline_path = key
    db.session.add(new)
    db.session.flush()
    record(actor, "call.copied", "call", new.id, after={"from": call.id})
    return new
