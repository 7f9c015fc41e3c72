"""Applications: drafting with optimistic locking, the final check, submission frozen into a
canonical snapshot with SHA-256 and a receipt number, withdrawal, attachments, access log.
Shared by the pages and the API."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from ..audit.services import record
from ..calls import lifecycle as call_lifecycle
from ..calls.models import Call
from ..consortia.models import Consortium
from ..consortia.rules import acts_for_lead, user_org_ids
from ..core import clock, uploads
from ..core.db import lock, transactional
from ..core.errors import Conflict, Forbidden, ServiceError, ValidationFailed
from ..core.inputs import MAX_ID
from ..core.validation import FieldErrors, parse_integer
from ..extensions import db
from ..i18n import LANGUAGES
from . import lifecycle
from .models import AccessLogEntry, Application, Attachment, BudgetLine, Indicator, WorkplanItem
from .rules import Access
from .sections import CATEGORIES, DECLARATIONS, FIELD_SECTION, MAX_MONTHS

TEXT_LIMITS = {"title": 300, "summary": 5000, "problem": 20000, "objectives": 20000, "activities": 20000}
MAX_ROWS = 200
MAX_ATTACHMENTS = 20


# --- creating and saving ---------------------------------------------------------------


@transactional
def create(actor, call: Call, consortium: Consortium, data: dict | None = None) -> Application:
    """A draft for a published call that has not closed, by a member of the lead organization."""
    if not acts_for_lead(actor, consortium):
        raise Forbidden(_("Only a member of the lead organization can start the application."), code="not_lead")
    if call_lifecycle.effective_status(call) != "published":
        raise Conflict(_("This call is not accepting applications."), code="call_not_open")
    app = Application(call=call, consortium=consortium, created_by_id=actor.id, updated_by_id=actor.id,
                      language=getattr(actor, "locale", "ru"), partner_roles={}, declarations={}, updated_at=clock.now())  # fmt: skip
    db.session.add(app)
    db.session.flush()
    if data:
        _apply(app, _clean(app, data))
        app.section_versions = dict.fromkeys(_sections(data), app.version)
    record(actor, "application.created", "application", app.id, after={"call": call.id, "consortium": consortium.id})
    return app


OFFLINE_KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")
FIRST_SENDING = 2  # the version a draft sent from a device has after its first sending


@transactional
def start_offline(actor, call: Call, consortium: Consortium, data: dict, key: str, version=None) -> Application:
    """A draft written on a device without a connection, sent when it returned: created and
    filled in one step (all or nothing). `key` is the device's own id for that draft: sent again
    (after a lost answer, or with more text), it finds the draft already made and saves on top
    of it like any save: from `version`, the version the device's last sending returned, or
    the one its first sending made when the answer was lost. So a dropped connection never makes
    two drafts (two sendings at once: the unique key lets one through), and a device's older text
    never overwrites what was changed on the server since (that is a conflict, both texts shown)."""
    from .rules import access, can_edit

    if not isinstance(key, str) or not OFFLINE_KEY.fullmatch(key):
        raise ValidationFailed(_("This draft has no valid device key; reload the page."), code="invalid_key")
    existing = db.session.execute(select(Application).where(Application.offline_key == key)).scalar_one_or_none()
    if existing is not None:
        found = access(actor, existing)
        if existing.created_by_id != actor.id or existing.call_id != call.id or found is None:
            raise Conflict(_("This draft has no valid device key; reload the page."), code="invalid_key")
        if existing.consortium_id != consortium.id or not can_edit(found, existing):
            raise Conflict(_("This draft is already on the server and can no longer be changed from this form. "
                             "Open it from “My applications”."), code="not_editable")  # fmt: skip
        return save(actor, existing, data, version=version or FIRST_SENDING)
    app = create(actor, call, consortium)
    app.offline_key = key
    db.session.flush()  # written before save() locks (and so refreshes) the row
    return save(actor, app, data, version=app.version)


def _text(value) -> str:
    """Text as typed (numbers the web form sent as text are text too); None is empty."""
    if value is None or isinstance(value, bool | list | dict):
        return ""
    return str(value).replace("\r\n", "\n").strip()


def _string(value, field: str, errors: FieldErrors, *, limit: int) -> str:
    """A text field: refused (never converted) when it is not text or longer than `limit`."""
    if value is None:
        return ""
    if not isinstance(value, str):
        errors.add(field, _("Must be text."))
        return ""
    text = value.replace("\r\n", "\n").strip()
    if len(text) > limit:
        errors.add(field, _("Too long: at most %(n)d characters.", n=limit))
    return text


def _decimal(value, field: str, errors: FieldErrors, *, positive: bool = False) -> Decimal | None:
    try:
        number = Decimal(str(value).replace(" ", "").replace("\u00a0", "").replace(",", "."))
    except (InvalidOperation, ValueError):
        errors.add(field, _("Please enter a number."))
        return None
    if not number.is_finite() or abs(number) > Decimal("1e11"):
        errors.add(field, _("Please enter a number."))
        return None
    if positive and number <= 0:
        errors.add(field, _("Must be more than zero."))
        return None
    return number.quantize(Decimal("0.01"))


def _rows(value, field: str, errors: FieldErrors) -> list[dict]:
    if not isinstance(value, list):
        errors.add(field, _("Must be a list."))
        return []
    if len(value) > MAX_ROWS:
        errors.add(field, _("At most %(n)d rows.", n=MAX_ROWS))
        return []
    if not all(isinstance(row, dict) for row in value):
        errors.add(field, _("Each row must be an object with the row's fields."))
        return []
    return value


def _member_id(value) -> int | None:
    """An organization id given as a number or digits; anything else (or out of range) is None."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    if isinstance(value, str) and not value.strip().isdigit():
        return None
    number = int(value)
    return number if 1 <= number <= MAX_ID else None


# Choices a new row shows pre-filled (a form's select always sends one): a row with nothing else
# filled in is an empty row, left out, not an error.
PRESET_FIELDS = ("organization_id", "category")


def _blank(row: dict) -> bool:
    return not isinstance(row, dict) or not any(_text(v) for k, v in row.items() if k not in PRESET_FIELDS)


def _clean(app: Application, data: dict) -> dict:
    """Validate the fields present in `data` (a partial save is allowed)."""
    errors = FieldErrors()
    out: dict = {}
    members = set(app.consortium.member_ids())
    for key, limit in TEXT_LIMITS.items():
        if key in data:
            out[key] = _string(data[key], key, errors, limit=limit)
    if "requested_amount" in data:
        raw = data["requested_amount"]
        out["requested_amount"] = (
            0 if _text(raw) == "" else parse_integer(raw, "requested_amount", errors, low=0, high=10**12)
        )
    if "language" in data:
        out["language"] = (
            data["language"] if isinstance(data["language"], str) and data["language"] in LANGUAGES else None
        )
        if out["language"] is None:
            errors.add("language", _("Choose one of: Kazakh, Russian, English."))
    if "budget_lines" in data:
        lines = []
        for i, row in enumerate(r for r in _rows(data["budget_lines"], "budget_lines", errors) if not _blank(r)):
            f = f"budget_lines.{i}"
            category = row.get("category") or "other"
            if not isinstance(category, str) or category not in CATEGORIES:
                errors.add(f"{f}.category", _("Not a valid choice."))
                category = "other"
            description = _string(row.get("description"), f"{f}.description", errors, limit=500)
            if not description:
                errors.add(f"{f}.description", _("Describe what the money is for."))
            org_id = _member_id(row.get("organization_id"))
            if org_id not in members:
                errors.add(f"{f}.organization_id", _("Choose an organization of the consortium."))
            quantity = _decimal(row.get("quantity"), f"{f}.quantity", errors, positive=True)
            unit_cost = parse_integer(row.get("unit_cost"), f"{f}.unit_cost", errors, low=0, high=10**11)
            lines.append({"category": category, "description": description, "organization_id": org_id,
                          "quantity": quantity, "unit_cost": unit_cost})  # fmt: skip
        out["budget_lines"] = lines
    if "indicators" in data:
        rows = []
        for i, row in enumerate(r for r in _rows(data["indicators"], "indicators", errors) if not _blank(r)):
            f = f"indicators.{i}"
            name = _string(row.get("name"), f"{f}.name", errors, limit=300)
            unit = _string(row.get("unit"), f"{f}.unit", errors, limit=60)
            if not name:
                errors.add(f"{f}.name", _("Name the indicator."))
            if not unit:
                errors.add(f"{f}.unit", _("Give the unit, e.g. people, hectares, tonnes."))
            baseline = _decimal(row.get("baseline") if _text(row.get("baseline")) else 0, f"{f}.baseline", errors)
            target = _decimal(row.get("target"), f"{f}.target", errors)
            rows.append({"name": name, "unit": unit, "baseline": baseline, "target": target})
        out["indicators"] = rows
    if "workplan" in data:
        rows = []
        for i, row in enumerate(r for r in _rows(data["workplan"], "workplan", errors) if not _blank(r)):
            f = f"workplan.{i}"
            activity = _string(row.get("activity"), f"{f}.activity", errors, limit=500)
            if not activity:
                errors.add(f"{f}.activity", _("Describe the activity."))
            start = parse_integer(row.get("start_month"), f"{f}.start_month", errors, low=1, high=MAX_MONTHS)
            end = parse_integer(row.get("end_month"), f"{f}.end_month", errors, low=1, high=MAX_MONTHS)
            if start and end and end < start:
                errors.add(f"{f}.end_month", _("The end month cannot be before the start month."))
            rows.append({"activity": activity, "start_month": start, "end_month": end})
        out["workplan"] = rows
    if "partner_roles" in data:
        roles = data["partner_roles"]
        out["partner_roles"] = {}
        if not isinstance(roles, dict):
            errors.add("partner_roles", _("Must be an object: {organization id: role}."))
            roles = {}
        for key, text in roles.items():
            if _member_id(key) not in members:
                errors.add("partner_roles", _("Choose an organization of the consortium."))
                continue
            role = _string(text, "partner_roles", errors, limit=3000)
            if role:
                out["partner_roles"][str(int(key))] = role
    if "declarations" in data:
        given = data["declarations"]
        if not isinstance(given, dict) or not all(isinstance(v, bool) for v in given.values()):
            errors.add("declarations", _("Must be an object of true/false answers."))
            given = {}
        out["declarations"] = {key: bool(given.get(key)) for key in DECLARATIONS}
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), fields=dict(errors))
    return out


def _apply(app: Application, values: dict) -> None:
    for key in ("title", "summary", "problem", "objectives", "activities", "requested_amount", "language",
                "partner_roles", "declarations"):  # fmt: skip
        if key in values:
            setattr(app, key, values[key])
    if "budget_lines" in values:
        app.budget_lines = [BudgetLine(position=i, **row) for i, row in enumerate(values["budget_lines"])]
    if "indicators" in values:
        app.indicators = [Indicator(position=i, **row) for i, row in enumerate(values["indicators"])]
    if "workplan" in values:
        app.workplan = [WorkplanItem(position=i, **row) for i, row in enumerate(values["workplan"])]


def content(app: Application) -> dict:
    """The editable content in the API's shape."""
    return {
        "title": app.title, "summary": app.summary, "problem": app.problem, "objectives": app.objectives,
        "activities": app.activities, "requested_amount": app.requested_amount, "language": app.language,
        "budget_lines": [
            {"category": b.category, "description": b.description, "organization_id": b.organization_id,
             "quantity": str(b.quantity), "unit_cost": b.unit_cost, "total": b.total}
            for b in app.budget_lines
        ],
        "indicators": [{"name": i.name, "unit": i.unit, "baseline": str(i.baseline), "target": str(i.target)}
                       for i in app.indicators],
        "workplan": [{"activity": w.activity, "start_month": w.start_month, "end_month": w.end_month}
                     for w in app.workplan],
        "partner_roles": dict(app.partner_roles or {}), "declarations": dict(app.declarations or {}),
    }  # fmt: skip


def _current(app: Application, keys) -> dict:
    """The saved values of `keys` in the shape `_clean` returns, so the two compare equal when
    a save would change nothing."""
    rows = {
        "budget_lines": lambda: [{"category": b.category, "description": b.description,
                                  "organization_id": b.organization_id, "quantity": b.quantity,
                                  "unit_cost": b.unit_cost} for b in app.budget_lines],
        "indicators": lambda: [{"name": i.name, "unit": i.unit, "baseline": i.baseline, "target": i.target}
                               for i in app.indicators],
        "workplan": lambda: [{"activity": w.activity, "start_month": w.start_month, "end_month": w.end_month}
                             for w in app.workplan],
        "partner_roles": lambda: dict(app.partner_roles or {}),
        "declarations": lambda: dict(app.declarations or {}),
    }  # fmt: skip
    return {key: rows[key]() if key in rows else getattr(app, key) for key in keys}


def _sections(data: dict) -> set[str]:
    return {FIELD_SECTION[key] for key in data if key in FIELD_SECTION}


def lock_for_writing(app: Application) -> Application:
    """Take the application's row lock and forget what may have changed while waiting for it: its
    columns are read again with the lock (one statement); its own rows and the consortium's members
    load again, as committed now, when next used. Unlike core.db.lock, the call and organizations it
    was loaded with are not read again: a save or a submission needs them as they were."""
    columns = [attr.key for attr in sa_inspect(Application).column_attrs]
    db.session.refresh(app, attribute_names=columns, with_for_update={"of": Application})
    db.session.expire(app, ["budget_lines", "indicators", "workplan", "attachments"])
    for member in app.consortium.members:  # a partner's decline in flight took the lock first
        db.session.expire(member)
    db.session.expire(app.consortium, ["members"])
    return app


@transactional
def save(actor, app: Application, data: dict, *, version) -> Application:
    """Save part of a draft. `version` is the version the writer started from. If one of the
    sections being saved changed after that version (another tab or person saved it) and the
    text differs, nothing is written and the conflict carries both texts. A save of other
    sections, or of exactly the text already saved (the writer's own autosave got there first),
    is not a conflict; a section nobody has saved yet has not changed. The row lock is taken before the versions are compared, so two tabs
    saving at once cannot both pass the check: the second waits, then sees the first's change."""
    lock_for_writing(app)
    if not lifecycle.is_editable(app):
        raise Conflict(_("A submitted application cannot be changed. Withdraw it first (before the deadline)."),
                       code="not_editable")  # fmt: skip
    based_on = version if isinstance(version, int) and not isinstance(version, bool) else None
    if isinstance(version, str) and version.strip().isdigit():
        based_on = int(version)
    changed_since = (
        based_on is None
        or based_on > app.version
        or any((app.section_versions or {}).get(section, 0) > based_on for section in _sections(data))
    )
    if based_on != app.version and changed_since:
        try:
            values = _clean(app, data)
            same = values == _current(app, values.keys())
        except ValidationFailed:
            same = False
        if not same:
            theirs = {k: v for k, v in content(app).items() if k in data}
            raise Conflict(
                _("Someone else saved this application after you opened it. Your text was not saved: compare "
                  "both versions below, copy what you need, and save again."),
                code="stale_version",
                extra={"current_version": app.version, "current": theirs, "yours": data},
            )  # fmt: skip
        return app  # the same text is already saved: nothing to write
    values = _clean(app, data)
    before = _current(app, values.keys())
    _apply(app, values)
    app.version += 1
    changed = {FIELD_SECTION[key] for key in values if key in FIELD_SECTION and values[key] != before[key]}
    if changed:
        app.section_versions = dict(app.section_versions or {}) | dict.fromkeys(changed, app.version)
    app.updated_at = clock.now()
    app.updated_by_id = actor.id
    return app


# --- attachments ---------------------------------------------------------------------------


@transactional
def add_attachment(actor, app: Application, upload: FileStorage | None, kind: str = "other") -> Attachment:
    """Attach a file to a draft, at most MAX_ATTACHMENTS: the count is read under the row lock, so
    uploads at once cannot pass the cap together."""
    from .sections import ATTACHMENT_KINDS

    lock(app)
    if not lifecycle.is_editable(app):
        raise Conflict(_("A submitted application cannot be changed. Withdraw it first (before the deadline)."),
                       code="not_editable")  # fmt: skip
    if upload is None or not upload.filename:
        raise ValidationFailed(_("Choose a file to upload."), fields={"file": [_("Choose a file to upload.")]})
    if len(app.attachments) >= MAX_ATTACHMENTS:
        raise ValidationFailed(
            _("At most %(n)d attachments.", n=MAX_ATTACHMENTS), fields={"file": [_("Too many files.")]}
        )
    stored = uploads.store(upload, folder="attachments")
    attachment = Attachment(application_id=app.id, kind=kind if kind in ATTACHMENT_KINDS else "other",
                            filename=stored.filename, path=stored.path, size=stored.size, sha256=stored.sha256,
                            content_type=stored.content_type, uploaded_by_id=actor.id)  # fmt: skip
    db.session.add(attachment)
    app.version += 1
    record(actor, "application.attachment_added", "application", app.id,
           after={"filename": stored.filename, "sha256": stored.sha256})  # fmt: skip
    return attachment


@transactional
def remove_attachment(actor, app: Application, attachment_id: int) -> None:
    lock(app)
    if not lifecycle.is_editable(app):
        raise Conflict(_("A submitted application cannot be changed. Withdraw it first (before the deadline)."),
                       code="not_editable")  # fmt: skip
    attachment = next((a for a in app.attachments if a.id == attachment_id), None)
    if attachment is None:
        raise ServiceError(_("This file does not exist."), code="not_found")
    app.attachments.remove(attachment)
    app.version += 1
    record(actor, "application.attachment_removed", "application", app.id, before={"filename": attachment.filename})


# --- access log ---------------------------------------------------------------------------


@transactional
def log_access(user, app: Application, found: Access, action: str, reason: str | None = None) -> None:
    """Openings by anyone outside the consortium are logged; a sealed one needs a reason."""
    if not found.outsider:
        return
    if found.sealed and not (reason or "").strip():
        raise ServiceError(_("This application is sealed until the call closes. Give a reason to open it."),
                           code="reason_required")  # fmt: skip
    role = "admin" if user.is_admin and not user.has_role("manager") else ("manager" if found.manager else "reviewer")
    db.session.add(AccessLogEntry(application_id=app.id, user_id=user.id, viewer_role=role, action=action,
                                  sealed_reason=(reason or "").strip()[:2000] if found.sealed else None))  # fmt: skip


def access_log(app: Application) -> list[AccessLogEntry]:
    return list(db.session.execute(select(AccessLogEntry).filter_by(application_id=app.id)
                                   .order_by(AccessLogEntry.created_at.desc())).scalars())  # fmt: skip


def list_options() -> tuple:
    """Loader options of a list of applications: the application's own rows (budget, indicators,
    workplan, files) and the call's and organizations' lists load only if asked for, so a list
    costs a fixed number of queries whatever its length."""
    from sqlalchemy.orm import joinedload, lazyload

    from ..consortia.models import ConsortiumMember
    from ..organizations.models import Organization

    call, consortium = joinedload(Application.call), joinedload(Application.consortium)
    return (lazyload(Application.budget_lines), lazyload(Application.indicators), lazyload(Application.workplan),
            lazyload(Application.attachments), call.lazyload(Call.criteria), call.lazyload(Call.themes),
            call.lazyload(Call.region_rows), consortium.lazyload(Consortium.lead),
            consortium.selectinload(Consortium.members).joinedload(ConsortiumMember.organization)
            .lazyload(Organization.theme_rows))  # fmt: skip


def visible_query(user, orgs: set[int]):
    """select(Application) of what `user` may list: their consortia's applications, and for a
    manager every application past its draft; None when that is nothing."""
    from sqlalchemy import or_

    from ..consortia.models import ConsortiumMember

    conditions = []
    if orgs:
        consortia = select(ConsortiumMember.consortium_id).where(ConsortiumMember.organization_id.in_(orgs),
                                                                 ConsortiumMember.declined_at.is_(None))  # fmt: skip
        conditions.append(Application.consortium_id.in_(consortia))
    if getattr(user, "is_manager", False):
        conditions.append(Application.status != lifecycle.Status.DRAFT)
    return select(Application).where(or_(*conditions)) if conditions else None


def applications_of(user) -> list[Application]:
    orgs = user_org_ids(user)
    if not orgs:
        return []
    from ..consortia.models import ConsortiumMember

    consortia = select(ConsortiumMember.consortium_id).where(ConsortiumMember.organization_id.in_(orgs),
                                                             ConsortiumMember.declined_at.is_(None))  # fmt: skip
    query = select(Application).where(Application.consortium_id.in_(consortia))
    return list(db.session.execute(query.order_by(Application.updated_at.desc()).options(*list_options())).scalars())


# The final check and submission live in submission.py; these names stay the domain's services.
from .submission import (  # noqa: E402, F401
    canonical,
    latest_submission,
    problems,
    snapshot,
    submissions,
    submit,
    withdraw,
)
