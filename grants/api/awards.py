from flask import Response, abort, jsonify, request
from flask_babel import gettext as _

from ..accounts.models import Role
from ..awards import issuing, lifecycle, payments, rules, services
from ..awards.models import Award, Report
from ..calls import rules as call_rules
from ..core.errors import Conflict, ValidationFailed
from ..extensions import db
from .core import current_api_user, endpoint
from .schema import Body, body, text

AWARD = {"type": "object", "properties": {
    "id": {"type": "integer"}, "application_id": {"type": "integer"}, "agreement_number": {"type": "string"},
    "amount": {"type": "integer"}, "currency": {"type": "string"}, "status": {"type": "string"},
    "version": {"type": "integer"},
    "tranches": {"type": "array", "items": {"type": "object", "properties": {
        "n": {"type": "integer"}, "amount": {"type": "integer"}, "due_date": {"type": "string", "format": "date"},
        "paid_on": {"type": "string", "format": "date", "nullable": True},
        "status": {"type": "string", "enum": ["scheduled", "payable", "paid"]},
        "condition": {"type": "string", "enum": ["signature", "interim_report", "final_report"]},
        "payments": {"type": "array", "items": {"type": "object", "properties": {
            "kind": {"type": "string", "enum": ["payment", "reversal"]},
            "paid_on": {"type": "string", "format": "date", "nullable": True}, "reason": {"type": "string"},
            "recorded_at": {"type": "string", "format": "date-time"}}}}}}},
    "reports": {"type": "array", "items": {"type": "object", "properties": {
        "kind": {"type": "string"}, "due_date": {"type": "string", "format": "date"},
        "status": {"type": "string", "enum": ["due", "submitted", "approved", "returned"]},
        "submitted_at": {"type": "string", "format": "date-time", "nullable": True}, "approved": {"type": "boolean"}}}},
    "letter": {"type": "object", "nullable": True, "properties": {
        "sha256": {"type": "string"}, "verification_code": {"type": "string"}}}}}  # fmt: skip


def payment_json(p) -> dict:
    return {"kind": p.kind, "paid_on": p.paid_on.isoformat() if p.paid_on else None, "reason": p.reason,
            "recorded_at": p.recorded_at.isoformat()}  # fmt: skip


def award_json(a: Award) -> dict:
    return {
        "id": a.id, "application_id": a.application_id, "agreement_number": a.agreement_number, "amount": a.amount,
        "currency": a.currency, "status": a.status, "version": a.version,
        "tranches": [{"n": t.n, "amount": t.amount, "due_date": t.due_on.isoformat(),
                      "paid_on": t.paid_on.isoformat() if t.paid_on else None, "status": t.status,
                      "condition": t.condition, "payments": [payment_json(p) for p in t.payments]}
                     for t in a.tranches],
        "reports": [{"kind": r.kind, "due_date": r.due_on.isoformat(), "status": r.status,
                     "submitted_at": r.submitted_at.isoformat() if r.submitted_at else None,
                     "approved": r.status == "approved"} for r in a.reports],
        "letter": {"sha256": a.letter.sha256, "verification_code": a.letter.verification_code} if a.letter else None,
    }  # fmt: skip


@endpoint("/awards", "GET", summary="Awards the caller may see (?call_id=)", tag="awards",
          response={"type": "object", "properties": {"items": {"type": "array", "items": AWARD}}})  # fmt: skip
def list_awards():
    user = current_api_user()
    call_id = request.args.get("call_id", type=int)
    if rules.can_manage(user) and call_id:
        items = services.awards_of_call(call_rules.get_call_or_404(call_id, user, "manage"))
    else:
        items = [a for a in services.awards_of(user) if not call_id or a.application.call_id == call_id]
    return jsonify({"items": [award_json(a) for a in items]})


@endpoint("/awards/<int:award_id>", "GET", summary="One award", response=AWARD, tag="awards")
def get_award(award_id: int):
    return jsonify(award_json(rules.get_award_or_404(award_id, current_api_user())))


@endpoint("/awards/<int:award_id>/letter.pdf", "GET", summary="The award letter (?lang=kk|ru|en)", tag="awards",
          response={"type": "string", "format": "binary"})  # fmt: skip
def letter_pdf(award_id: int):
    award = rules.get_award_or_404(award_id, current_api_user())
    if award.letter is None:
        abort(404)
    data = issuing.letter_pdf(award, award.letter, request.args.get("lang"))
    return Response(data, mimetype="application/pdf", headers={"X-Content-Type-Options": "nosniff"})


PAID = Body({"type": "object", "required": ["paid_on"], "properties": {
    "paid_on": {"type": "string", "format": "date", "description": "the day of the payment (not after today)"}}})  # fmt: skip
REVERSAL = Body({"type": "object", "required": ["reason"], "properties": {"reason": text(2000, minLength=1)}})
INDICATOR_VALUE = {"type": ["number", "null"]}
REPORT = Body({"type": "object", "required": ["kind", "narrative"], "properties": {
    "kind": {"type": "string", "enum": ["interim", "final"]}, "narrative": text(20000),
    "indicators": {"type": ["array", "object"], "maxItems": 100, "maxProperties": 100,
                   "description": "the project's indicators: a list of {name, value}, or an object {name: value}",
                   "items": {"type": "object", "required": ["name"], "properties": {
                       "name": text(300), "value": INDICATOR_VALUE}},
                   "additionalProperties": INDICATOR_VALUE}}})  # fmt: skip
REPORT_REVIEW = Body({"type": "object", "required": ["approve"], "properties": {
    "approve": {"type": "boolean", "description": "true: approve; false: return it to the grantee"},
    "comment": {**text(5000), "type": ["string", "null"],
                "description": "what needs to change (required when the report is returned)"}}})  # fmt: skip


@endpoint("/awards/<int:award_id>/tranches/<int:n>/paid", "POST",
          summary="Mark a tranche paid: 409 condition_not_met until its condition holds, previous_unpaid before "
                  "tranche n-1 is paid, already_paid; 422 future_date for a date after today (Asia/Almaty)",
          roles=(Role.MANAGER, Role.ADMIN), tag="awards", response=AWARD, body=PAID)  # fmt: skip
def tranche_paid(award_id: int, n: int):
    award = rules.get_award_or_404(award_id, current_api_user(), "manage")
    payments.mark_paid(current_api_user(), award, n, body()["paid_on"])
    return jsonify(award_json(award))


@endpoint("/awards/<int:award_id>/tranches/<int:n>/reversal", "POST",
          summary="Reverse a payment recorded in error (kept in the history with its reason); 409 not_paid, "
                  "later_tranche_paid", roles=(Role.MANAGER, Role.ADMIN), tag="awards", response=AWARD,
          body=REVERSAL)  # fmt: skip
def tranche_reversal(award_id: int, n: int):
    award = rules.get_award_or_404(award_id, current_api_user(), "manage")
    payments.reverse_payment(current_api_user(), award, n, body()["reason"])
    return jsonify(award_json(award))


@endpoint("/awards/<int:award_id>/reports", "POST", summary="Submit an interim or final report (grantee)", tag="awards",
          response=AWARD, status=201, body=REPORT)  # fmt: skip
def submit_report(award_id: int):
    award = rules.get_award_or_404(award_id, current_api_user(), "report")
    payload = body()
    rows = payload.get("indicators") or []
    indicators = dict(rows) if isinstance(rows, dict) else {r["name"]: r.get("value") for r in rows}
    services.submit_report(current_api_user(), award, kind=payload["kind"], narrative=payload["narrative"],
                           indicators=indicators)  # fmt: skip
    return jsonify(award_json(award)), 201


@endpoint("/reports/<int:report_id>/review", "POST",
          summary="Approve a submitted report (its tranche becomes payable; an approved final report with every "
                  "tranche paid completes the award) or return it with a comment (422 without one); "
                  "409 invalid_transition when the report is not waiting for review",
          roles=(Role.MANAGER, Role.ADMIN), tag="awards", response=AWARD, body=REPORT_REVIEW)  # fmt: skip
def review_report(report_id: int):
    report = db.session.get(Report, report_id)
    if report is None:
        abort(404)
    award = rules.get_award_or_404(report.award_id, current_api_user(), "manage")
    payload = body()
    comment = (payload.get("comment") or "").strip()
    if not payload["approve"] and not comment:
        raise ValidationFailed(_("Say what needs to change."), fields={"comment": [_("A reason is required.")]})
    services.review_report(current_api_user(), award, report.kind, approve=payload["approve"], note=comment)
    return jsonify(award_json(award))


@endpoint("/calls/<int:call_id>/awards", "POST", roles=(Role.MANAGER, Role.ADMIN), tag="awards", status=201,
          summary="Create the awards from the call's \"award\" decisions (those without one yet), as the awards "
                  "page does; 409 when another request made them at the same time",
          response={"type": "object", "properties": {"items": {"type": "array", "items": AWARD}}})  # fmt: skip
def create_awards(call_id: int):
    call = call_rules.get_call_or_404(call_id, current_api_user(), "manage")
    made = services.create_from_decisions(current_api_user(), call)
    return jsonify({"items": [award_json(a) for a in made]}), 201


LETTER = Body({"type": "object", "properties": {
    "language": {"type": ["string", "null"], "enum": ["kk", "ru", "en", None],
                 "description": "default: the lead organization's language"},
    "seen_version": {"type": "integer", "minimum": 0, "maximum": 10**6,
                     "description": "the latest letter version you saw (default: the current one); "
                                    "409 stale when another was issued meanwhile"}}})  # fmt: skip


@endpoint("/awards/<int:award_id>/letter", "POST", roles=(Role.MANAGER, Role.ADMIN), tag="awards", status=201,
          body=LETTER, response=AWARD,
          summary="Issue the award letter (a new version supersedes the previous one); the lead is emailed")  # fmt: skip
def issue_letter(award_id: int):
    award = rules.get_award_or_404(award_id, current_api_user(), "manage")
    if not rules.can_issue_letter(current_api_user(), award):  # as the award page, which offers no button then
        raise Conflict(_("This cannot be done now: it is %(status)s.", status=lifecycle.award_label(award.status)),
                       code="invalid_transition")  # fmt: skip
    payload = body()
    seen = payload.get("seen_version")
    letter = issuing.issue_letter(current_api_user(), award, payload.get("language") or None,
                                  seen_version=issuing.latest_version(award) if seen is None else seen)  # fmt: skip
    if letter is None:
        raise Conflict(_("Someone else issued a letter meanwhile. Reload and check it."), code="stale")
    return jsonify(award_json(award)), 201
