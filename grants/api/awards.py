from flask import Response, abort, jsonify, request
from flask_babel import gettext as _

from ..accounts.models import Role
from ..awards import rules, services
from ..awards.models import Award
from ..calls import rules as call_rules
from ..core.errors import ValidationFailed
from .core import current_api_user, endpoint, json_body

AWARD = {"type": "object", "properties": {
    "id": {"type": "integer"}, "application_id": {"type": "integer"}, "agreement_number": {"type": "string"},
    "amount": {"type": "integer"}, "currency": {"type": "string"}, "status": {"type": "string"},
    "tranches": {"type": "array", "items": {"type": "object", "properties": {
        "n": {"type": "integer"}, "amount": {"type": "integer"}, "due_date": {"type": "string", "format": "date"},
        "paid_on": {"type": "string", "format": "date", "nullable": True}}}},
    "reports": {"type": "array", "items": {"type": "object", "properties": {
        "kind": {"type": "string"}, "due_date": {"type": "string", "format": "date"},
        "submitted_at": {"type": "string", "format": "date-time", "nullable": True}, "approved": {"type": "boolean"}}}},
    "letter": {"type": "object", "nullable": True, "properties": {
        "sha256": {"type": "string"}, "verification_code": {"type": "string"}}}}}  # fmt: skip


def award_json(a: Award) -> dict:
    return {
        "id": a.id, "application_id": a.application_id, "agreement_number": a.agreement_number, "amount": a.amount,
        "currency": a.currency, "status": a.status,
        "tranches": [{"n": t.n, "amount": t.amount, "due_date": t.due_on.isoformat(),
                      "paid_on": t.paid_on.isoformat() if t.paid_on else None} for t in a.tranches],
        "reports": [{"kind": r.kind, "due_date": r.due_on.isoformat(),
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
    wanted = request.args.get("lang")
    if wanted in ("kk", "ru", "en") and wanted != award.letter.language:
        from ..awards.letters import render_letter

        data = render_letter(award, wanted, award.letter.verification_code, award.letter.version)
    else:
        data = services.letter_bytes(award.letter)
    return Response(data, mimetype="application/pdf", headers={"X-Content-Type-Options": "nosniff"})


@endpoint("/awards/<int:award_id>/tranches/<int:n>/paid", "POST", summary="Mark a tranche paid",
          roles=(Role.MANAGER, Role.ADMIN), tag="awards", response=AWARD, body={"type": "object",
          "required": ["paid_on"], "properties": {"paid_on": {"type": "string", "format": "date"}}})  # fmt: skip
def tranche_paid(award_id: int, n: int):
    award = rules.get_award_or_404(award_id, current_api_user(), "manage")
    services.mark_paid(current_api_user(), award, n, json_body().get("paid_on", ""))
    return jsonify(award_json(award))


@endpoint("/awards/<int:award_id>/reports", "POST", summary="Submit an interim or final report (grantee)", tag="awards",
          response=AWARD, status=201, body={"type": "object", "required": ["kind", "narrative"], "properties": {
              "kind": {"type": "string", "enum": ["interim", "final"]}, "narrative": {"type": "string"},
              "indicators": {"type": "array", "items": {"type": "object", "properties": {
                  "name": {"type": "string"}, "value": {"type": "number"}}}}}})  # fmt: skip
def submit_report(award_id: int):
    award = rules.get_award_or_404(award_id, current_api_user(), "report")
    payload = json_body()
    rows = payload.get("indicators") or []
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise ValidationFailed(_("Please correct the marked fields."), fields={"indicators": [_("Must be a list.")]})
    services.submit_report(current_api_user(), award, kind=str(payload.get("kind") or ""),
                           narrative=str(payload.get("narrative") or ""),
                           indicators={str(r.get("name")): r.get("value") for r in rows})  # fmt: skip
    return jsonify(award_json(award)), 201
