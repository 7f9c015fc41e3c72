from flask import jsonify, request
from flask_babel import gettext as _
from sqlalchemy import func, select

from ..applications import rules, services
from ..applications.models import Application
from ..applications.sections import ATTACHMENT_KINDS, CATEGORIES, DECLARATIONS, MAX_MONTHS
from ..calls import rules as call_rules
from ..consortia import rules as consortium_rules
from ..consortia import services as consortia
from ..consortia.models import Consortium
from ..extensions import db
from .core import current_api_user, endpoint, page_args, query_int
from .schema import ID, Body, body, text

ROW = {"type": "array", "items": {"type": "object"}}
DIGITS = r"^\s*\d[\d\s]{0,14}\s*$"  # a whole number typed as text ("1 500 000")
DECIMAL = r"^\s*-?\d[\d\s]{0,14}([.,]\d{1,4})?\s*$"
WHOLE = {"type": ["integer", "string", "null"], "pattern": DIGITS}
NUMBER = {"type": ["number", "string", "null"], "pattern": DECIMAL, "minimum": -(10**11), "maximum": 10**11}
MAX_ROWS = services.MAX_ROWS
CONTENT = {
    "type": "object",
    "properties": {
        "title": text(300), "summary": text(5000), "problem": text(20000), "objectives": text(20000),
        "activities": text(20000),
        "requested_amount": WHOLE | {"minimum": 0, "maximum": 10**12},
        "language": {"type": "string", "enum": ["kk", "ru", "en"]},
        "budget_lines": {"type": "array", "maxItems": MAX_ROWS, "items": {"type": "object", "properties": {
            "category": {"type": ["string", "null"], "enum": [*CATEGORIES, "", None]},
            "description": text(500) | {"type": ["string", "null"]},
            "organization_id": ID | {"type": ["integer", "null"]},
            "quantity": NUMBER, "unit_cost": WHOLE | {"minimum": 0, "maximum": 10**11}}}},
        "indicators": {"type": "array", "maxItems": MAX_ROWS, "items": {"type": "object", "properties": {
            "name": text(300) | {"type": ["string", "null"]}, "unit": text(60) | {"type": ["string", "null"]},
            "baseline": NUMBER, "target": NUMBER}}},
        "workplan": {"type": "array", "maxItems": MAX_ROWS, "items": {"type": "object", "properties": {
            "activity": text(500) | {"type": ["string", "null"]},
            "start_month": WHOLE | {"minimum": 1, "maximum": MAX_MONTHS},
            "end_month": WHOLE | {"minimum": 1, "maximum": MAX_MONTHS}}}},
        "partner_roles": {"type": "object", "maxProperties": 50, "additionalProperties": text(3000),
                          "description": "{organization id: its role}"},
        "declarations": {"type": "object", "properties": {key: {"type": "boolean"} for key in DECLARATIONS}},
        "version": {"type": ["integer", "string"], "pattern": DIGITS, "minimum": 0, "maximum": 2**53,
                    "description": "The version you edited (PATCH); a stale one gives 409 `stale_version` with "
                                   "`current_version`."},
    },
}  # fmt: skip
SAVE_BODY = Body(CONTENT)
CREATE_BODY = Body(
    CONTENT | {"required": ["consortium_id"], "properties": CONTENT["properties"] | {"consortium_id": ID}}
)
APPLICATION = {"type": "object", "properties": CONTENT["properties"] | {
    "id": {"type": "integer"}, "call_id": {"type": "integer"}, "consortium_id": {"type": "integer"},
    "status": {"type": "string"}, "budget_total": {"type": "integer"},
    "receipt_number": {"type": "string", "nullable": True}, "sha256": {"type": "string", "nullable": True},
    "submitted_at": {"type": "string", "format": "date-time", "nullable": True},
    "attachments": ROW}}  # fmt: skip
CONSORTIUM = {"type": "object", "properties": {
    "id": {"type": "integer"}, "name": {"type": "string"}, "lead_organization_id": {"type": "integer"},
    "members": {"type": "array", "items": {"type": "object", "properties": {
        "organization_id": {"type": "integer"}, "role": {"type": "string", "enum": ["lead", "partner"]},
        "confirmed": {"type": "boolean"}, "declined": {"type": "boolean"}}}}}}  # fmt: skip
CONSORTIUM_BODY = Body({"type": "object", "required": ["name", "lead_organization_id"], "properties": {
    "name": text(300), "lead_organization_id": ID,
    "partner_organization_ids": {"type": "array", "maxItems": 20, "items": ID}}})  # fmt: skip
CONFIRM_BODY = Body({"type": "object", "required": ["organization_id"], "properties": {
    "organization_id": ID, "decline": {"type": "boolean"}}})  # fmt: skip
ATTACHMENT_BODY = Body({"type": "object", "required": ["file"], "properties": {
    "file": {"type": "string", "format": "binary"}, "kind": text(30, enum=[*ATTACHMENT_KINDS, ""])}},
    media="multipart")  # fmt: skip
SUBMITTED = {"type": "object", "properties": {"status": {"type": "string"}, "receipt_number": {"type": "string"},
                                              "sha256": {"type": "string"},
                                              "submitted_at": {"type": "string", "format": "date-time"}}}  # fmt: skip
ATTACHMENT = {"type": "object", "properties": {"id": {"type": "integer"}, "filename": {"type": "string"},
                                               "size": {"type": "integer"}, "sha256": {"type": "string"},
                                               "content_type": {"type": "string"}, "kind": {"type": "string"}}}  # fmt: skip
ACCESS_LOG = {"type": "object", "properties": {"items": {"type": "array", "items": {"type": "object", "properties": {
    "who": {"type": "string"}, "role": {"type": "string"}, "action": {"type": "string"},
    "at": {"type": "string", "format": "date-time"}, "sealed_reason": {"type": "string", "nullable": True}}}}}}  # fmt: skip


def consortium_json(c: Consortium) -> dict:
    return {"id": c.id, "name": c.name, "lead_organization_id": c.lead_organization_id,
            "members": [{"organization_id": m.organization_id, "role": m.role, "confirmed": m.confirmed,
                         "declined": m.declined_at is not None} for m in c.members]}  # fmt: skip


def attachment_json(a) -> dict:
    return {"id": a.id, "filename": a.filename, "size": a.size, "sha256": a.sha256, "content_type": a.content_type,
            "kind": a.kind}  # fmt: skip


def application_json(app: Application) -> dict:
    latest = services.latest_submission(app)
    return services.content(app) | {
        "id": app.id, "call_id": app.call_id, "consortium_id": app.consortium_id, "status": app.status,
        "version": app.version, "budget_total": app.budget_total,
        "receipt_number": latest.receipt_number if latest else None, "sha256": latest.sha256 if latest else None,
        "submitted_at": latest.submitted_at.isoformat() if latest else None,
        "attachments": [attachment_json(a) for a in app.attachments],
    }  # fmt: skip


def _opened(app_id: int, action: str = "view", kind: str = "view") -> Application:
    user = current_api_user()
    app, found = rules.get_application_or_404(app_id, user, action)
    services.log_access(user, app, found, kind, request.headers.get("X-Access-Reason"))
    return app


@endpoint("/consortia", "POST", summary="Form a consortium; partners are asked to confirm by email", body=CONSORTIUM_BODY,
          response=CONSORTIUM, status=201, tag="consortia")  # fmt: skip
def create_consortium():
    payload = body()
    consortium = consortia.create(current_api_user(), name=payload["name"],
                                  lead_organization_id=payload["lead_organization_id"],
                                  partner_organization_ids=payload.get("partner_organization_ids") or [])  # fmt: skip
    return jsonify(consortium_json(consortium)), 201


@endpoint("/consortia/<int:consortium_id>", "GET", summary="A consortium and its members", response=CONSORTIUM,
          tag="consortia")  # fmt: skip
def get_consortium(consortium_id: int):
    return jsonify(consortium_json(consortium_rules.get_consortium_or_404(consortium_id, current_api_user())))


@endpoint("/consortia/<int:consortium_id>/confirm", "POST", summary="A partner confirms (or declines) participation",
          body=CONFIRM_BODY, response=CONSORTIUM, tag="consortia")  # fmt: skip
def confirm_consortium(consortium_id: int):
    consortium = consortium_rules.get_consortium_or_404(consortium_id, current_api_user())
    payload = body()
    consortia.respond(current_api_user(), consortium, organization_id=payload.get("organization_id"),
                      accept=not payload.get("decline"))  # fmt: skip
    return jsonify(consortium_json(consortium))


@endpoint("/calls/<int:call_id>/applications", "POST", summary="Start an application (draft) for a consortium",
          body=CREATE_BODY, response=APPLICATION, status=201, tag="applications")  # fmt: skip
def create_application(call_id: int):
    user = current_api_user()
    call = call_rules.get_call_or_404(call_id, user)
    payload = body()
    consortium = consortium_rules.get_consortium_or_404(payload.pop("consortium_id"), user)
    payload.pop("version", None)
    app = services.create(user, call, consortium, payload)
    return jsonify(application_json(app)), 201


@endpoint("/applications/<int:app_id>", "PATCH", summary="Save a draft (partial bodies allowed; send `version`)",
          body=SAVE_BODY, response=APPLICATION, tag="applications")  # fmt: skip
def update_application(app_id: int):
    user = current_api_user()
    app, _found = rules.get_application_or_404(app_id, user, "edit")
    payload = body()
    version = payload.pop(
        "version", app.version if request.headers.get("If-Match") is None else request.headers["If-Match"]
    )
    services.save(user, app, payload, version=version)
    return jsonify(application_json(app))


CONFLICT_FOUND = "conflict found"


def _reviewer_view(app_id: int):
    """The application as the assigned reviewer's page shows it (reviews domain rules: assigned, no
    conflict declared, pledge accepted, no conflict found since), or None. Blind calls: no organization
    names, neutral file names, partners by their labels ("Partner 1"); the opening is logged."""
    from ..applications.models import AccessLogEntry
    from ..applications.pdf import _blind_labels
    from ..reviews import reviewing
    from ..reviews import rules as review_rules
    from ..reviews.models import Assignment

    user = current_api_user()
    if not review_rules.is_reviewer(user):
        return None
    assignment = db.session.execute(
        select(Assignment).filter_by(application_id=app_id, reviewer_id=user.id).order_by(Assignment.id.desc())
    ).scalars().first()  # fmt: skip
    if assignment is None or not review_rules.can_read_content(user, assignment):
        return None
    if not reviewing.open_assignment(user, assignment):  # now linked to the consortium: closed, as on the page
        return CONFLICT_FOUND
    app = assignment.application
    blind = app.call.blind_review
    members = sorted(app.consortium.members, key=lambda m: (m.role != "lead", m.id))
    names = _blind_labels(members) if blind else {m.organization_id: m.organization.name for m in members}
    data = application_json(app)
    roles = data.pop("partner_roles", None) or {}
    data["consortium"] = [{"organization": names[m.organization_id], "role": m.role,
                           "partner_role": roles.get(str(m.organization_id), "")} for m in members]  # fmt: skip
    if blind:
        data.pop("consortium_id", None)
        for line in data.get("budget_lines") or []:
            if line.get("organization_id") in names:
                line["organization"] = names[line.pop("organization_id")]
        for n, item in enumerate(data["attachments"], start=1):
            extension = item["filename"].rsplit(".", 1)[-1] if "." in item["filename"] else "bin"
            item["filename"] = f"attachment-{n}.{extension}"
    db.session.add(AccessLogEntry(application_id=app.id, user_id=user.id, viewer_role="reviewer",
                                  reviewer_seat=assignment.seat, action="view"))  # fmt: skip
    return data


@endpoint("/applications/<int:app_id>", "GET", summary="One application (an assigned reviewer: as the review page "
          "shows it, blind when the call is)", response=APPLICATION, tag="applications")  # fmt: skip
def get_application(app_id: int):
    seen = _reviewer_view(app_id)
    if seen == CONFLICT_FOUND:  # 404, and the conflict found is kept (the manager is asked to reassign)
        from werkzeug.exceptions import NotFound

        from ..core.db import keep_on_refusal
        from ..errors import handle_http

        keep_on_refusal()
        return handle_http(NotFound())
    if seen is not None:
        return jsonify(seen)
    return jsonify(application_json(_opened(app_id)))


LIST_ITEM = {"type": "object", "properties": {
    "id": {"type": "integer"}, "call_id": {"type": "integer"}, "status": {"type": "string"},
    "consortium_id": {"type": "integer", "nullable": True, "description": "null while sealed (see `sealed`)"},
    "title": {"type": "string", "nullable": True, "description": "null while sealed (see `sealed`)"},
    "sealed": {"type": "boolean", "description": "submitted to a call that has not closed, and not opened by the "
               "caller with a reason (GET /applications/{id} with X-Access-Reason): title and consortium are "
               "withheld"}}}  # fmt: skip


@endpoint("/applications", "GET", summary="Applications the caller may see (?call_id=)", tag="applications",
          response={"type": "object", "properties": {"items": {"type": "array", "items": LIST_ITEM},
                    "page": {"type": "integer"}, "per_page": {"type": "integer"}, "total": {"type": "integer"}}})  # fmt: skip
def list_applications():
    user = current_api_user()
    # An unknown or out-of-range ?call_id= lists nothing (0 is no call), never everything.
    call_id = query_int("call_id", 0) if request.args.get("call_id") else None
    page, per_page = page_args()
    orgs = consortium_rules.user_org_ids(user)
    query = services.visible_query(user, orgs)
    if query is not None and call_id is not None:
        query = query.where(Application.call_id == call_id)
    if query is None:
        total, chunk = 0, []
    else:  # the page is cut in SQL: two queries and the page's rows, whatever the number of applications
        total = db.session.execute(select(func.count()).select_from(query.with_only_columns(Application.id)
                                                                    .subquery())).scalar_one()  # fmt: skip
        chunk = list(db.session.execute(query.order_by(Application.id).offset((page - 1) * per_page).limit(per_page)
                                        .options(*services.list_options())).scalars())  # fmt: skip
    # Listing shows metadata only; opening one (GET /applications/{id}) is what gets logged. A sealed
    # application's title and consortium stay hidden from a manager until opened with a reason.
    opened = rules.opened_with_reason(user, [a.id for a in chunk])
    shown = {a.id for a in chunk if rules.can_list_details(user, a, opened, orgs)}
    return jsonify({"items": [{"id": a.id, "call_id": a.call_id, "status": a.status, "sealed": a.id not in shown,
                               "consortium_id": a.consortium_id if a.id in shown else None,
                               "title": a.title if a.id in shown else None} for a in chunk],
                    "page": page, "per_page": per_page, "total": total})  # fmt: skip


@endpoint("/applications/<int:app_id>/submit", "POST", summary="Submit: freeze, hash, receipt", response=SUBMITTED,
          tag="applications")  # fmt: skip
def submit_application(app_id: int):
    user = current_api_user()
    app, _found = rules.get_application_or_404(app_id, user, "edit")
    submission = services.submit(user, app)
    return jsonify({"status": app.status, "receipt_number": submission.receipt_number, "sha256": submission.sha256,
                    "submitted_at": submission.submitted_at.isoformat()})  # fmt: skip


@endpoint("/applications/<int:app_id>/withdraw", "POST", summary="Withdraw before the deadline", response=APPLICATION,
          tag="applications")  # fmt: skip
def withdraw_application(app_id: int):
    user = current_api_user()
    app, _found = rules.get_application_or_404(app_id, user, "edit")
    return jsonify(application_json(services.withdraw(user, app)))


@endpoint("/applications/<int:app_id>/attachments", "POST", summary="Upload an attachment (multipart `file`, `kind`)",
          body=ATTACHMENT_BODY, response=ATTACHMENT, status=201, tag="applications")  # fmt: skip
def upload_attachment(app_id: int):
    user = current_api_user()
    app, _found = rules.get_application_or_404(app_id, user, "edit")
    kind = body().get("kind") or "other"
    attachment = services.add_attachment(user, app, request.files.get("file"), kind)
    return jsonify(attachment_json(attachment)), 201


@endpoint("/applications/<int:app_id>/access-log", "GET", summary="Who outside the consortium opened it",
          response=ACCESS_LOG, tag="applications")  # fmt: skip
def access_log(app_id: int):
    app, _found = rules.get_application_or_404(app_id, current_api_user(), "edit")
    entries = services.access_log(app)
    return jsonify({"items": [{
        "who": (_("Reviewer %(n)d", n=e.reviewer_seat or 0) if e.viewer_role == "reviewer"
                else _("Programme manager %(name)s", name=e.user.name if e.user else "—")),
        "role": e.viewer_role, "action": e.action, "at": e.created_at.isoformat(), "sealed_reason": e.sealed_reason,
    } for e in entries]})  # fmt: skip
