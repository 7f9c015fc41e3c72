from flask import abort, jsonify
from flask_babel import gettext as _

from ..accounts.models import Role
from ..applications.models import Application
from ..calls import rules as call_rules
from ..core.errors import ValidationFailed
from ..extensions import db
from ..reviews import rules, scoring, services
from .core import current_api_user, endpoint, json_body

MANAGERS = (Role.MANAGER, Role.ADMIN)
ASSIGNMENT = {"type": "object", "properties": {
    "id": {"type": "integer"}, "application_id": {"type": "integer"}, "call_id": {"type": "integer"},
    "status": {"type": "string", "enum": ["pending", "declared", "conflicted", "submitted"]},
    "due_at": {"type": "string", "format": "date-time"}, "seat": {"type": "integer"}}}  # fmt: skip
RANK_ITEM = {"type": "object", "properties": {
    "application_id": {"type": "integer"}, "rank": {"type": "integer"}, "merit": {"type": "number", "nullable": True},
    "priority": {"type": "number"}, "final": {"type": "number", "nullable": True},
    "flags": {"type": "array", "items": {"type": "string"}}, "selected": {"type": "boolean"},
    "reason": {"type": "string"}, "reserve": {"type": "boolean"}}}  # fmt: skip


def _number(value):
    return None if value is None else float(scoring.shown(value))


def assignment_json(a) -> dict:
    return {"id": a.id, "application_id": a.application_id, "call_id": a.application.call_id, "status": a.status,
            "due_at": a.due_at.isoformat(), "seat": a.seat}  # fmt: skip


def _application_of(call, payload) -> Application:
    try:
        app = db.session.get(Application, int(payload.get("application_id")))
    except (TypeError, ValueError):
        app = None
    if app is None or app.call_id != call.id:
        raise ValidationFailed(
            _("Not an application of this call."), fields={"application_id": [_("Not a valid choice.")]}
        )
    return app


@endpoint("/calls/<int:call_id>/eligibility", "POST", summary="Confirm an application eligible or not, with a reason",
          roles=MANAGERS, tag="review", body={"type": "object", "required": ["application_id", "eligible"], "properties": {
              "application_id": {"type": "integer"}, "eligible": {"type": "boolean"}, "reason": {"type": "string"}}},
          response={"type": "object", "properties": {"application_id": {"type": "integer"}, "status": {"type": "string"}}})  # fmt: skip
def eligibility(call_id: int):
    call = call_rules.get_call_or_404(call_id, current_api_user(), "manage")
    payload = json_body()
    if not isinstance(payload.get("eligible"), bool):
        raise ValidationFailed(
            _("Please correct the marked fields."), fields={"eligible": [_("Must be true or false.")]}
        )
    app = services.set_eligibility(current_api_user(), _application_of(call, payload), eligible=payload["eligible"],
                                   reason=str(payload.get("reason") or ""))  # fmt: skip
    return jsonify({"application_id": app.id, "status": app.status})


@endpoint("/calls/<int:call_id>/assignments/auto", "POST", summary="Assign reviewers automatically", roles=MANAGERS,
          tag="review", response={"type": "object", "properties": {
              "assigned": {"type": "integer"}, "per_reviewer": {"type": "object"},
              "unassigned": {"type": "array", "items": {"type": "object"}}}})  # fmt: skip
def auto_assign(call_id: int):
    call = call_rules.get_call_or_404(call_id, current_api_user(), "manage")
    plan = services.auto_assign(current_api_user(), call)
    return jsonify({"assigned": len(plan.pairs), "per_reviewer": {str(k): v for k, v in plan.loads.items()},
                    "unassigned": plan.unassigned})  # fmt: skip


@endpoint("/assignments", "GET", summary="The caller's review assignments", roles=(Role.REVIEWER,), tag="review",
          response={"type": "object", "properties": {"items": {"type": "array", "items": ASSIGNMENT}}})  # fmt: skip
def assignments():
    return jsonify({"items": [assignment_json(a) for a in services.assignments_of(current_api_user())]})


@endpoint("/assignments/<int:assignment_id>/declaration", "POST", summary="Declare conflict / no conflict (and pledge)",
          roles=(Role.REVIEWER,), tag="review", response=ASSIGNMENT, body={"type": "object", "required": ["conflict"],
          "properties": {"conflict": {"type": "boolean"}, "reason": {"type": "string"}, "pledge": {"type": "boolean"}}})  # fmt: skip
def declaration(assignment_id: int):
    assignment = rules.get_assignment_or_404(assignment_id, current_api_user())
    payload = json_body()
    if not isinstance(payload.get("conflict"), bool):
        raise ValidationFailed(
            _("Please correct the marked fields."), fields={"conflict": [_("Must be true or false.")]}
        )
    services.declare(current_api_user(), assignment, conflict=payload["conflict"], reason=str(payload.get("reason") or ""),
                     pledge=payload.get("pledge", True) is True)  # fmt: skip
    return jsonify(assignment_json(assignment))


@endpoint("/assignments/<int:assignment_id>/review", "PUT", summary="Save or submit the review", roles=(Role.REVIEWER,),
          tag="review", response=ASSIGNMENT, body={"type": "object", "properties": {
              "scores": {"type": "object", "additionalProperties": {"type": "number"}},
              "comments": {"type": "object", "additionalProperties": {"type": "string"}},
              "overall_comment": {"type": "string"}, "submit": {"type": "boolean"}}})  # fmt: skip
def put_review(assignment_id: int):
    assignment = rules.get_assignment_or_404(assignment_id, current_api_user())
    if assignment.status == "conflicted":
        abort(404)
    payload = json_body()
    if not isinstance(payload.get("scores", {}), dict) or not isinstance(payload.get("comments", {}), dict):
        raise ValidationFailed(_("Please correct the marked fields."), fields={"scores": [_("Must be an object.")]})
    services.save_review(current_api_user(), assignment, scores=payload.get("scores") or {},
                         comments=payload.get("comments") or {}, overall_comment=str(payload.get("overall_comment") or ""),
                         submit=payload.get("submit") is True)  # fmt: skip
    return jsonify(assignment_json(assignment))


@endpoint("/calls/<int:call_id>/ranking", "GET", summary="Ranking and selection per the scoring rules", roles=MANAGERS,
          tag="review", response={"type": "object", "properties": {"items": {"type": "array", "items": RANK_ITEM},
          "budget_used": {"type": "integer"}, "budget_left": {"type": "integer"}, "awards": {"type": "integer"},
          "consortia": {"type": "integer"}}})  # fmt: skip
def ranking(call_id: int):
    call = call_rules.get_call_or_404(call_id, current_api_user(), "manage")
    outcome, _apps = services.ranking(call)
    return jsonify({
        "items": [{"application_id": i.application_id, "rank": i.rank, "merit": _number(i.merit),
                   "priority": _number(i.priority), "final": _number(i.final), "flags": i.flags, "selected": i.selected,
                   "reason": i.reason, "reserve": i.reserve, "priority_reasons": i.priority_reasons}
                  for i in outcome.items],
        "budget_used": outcome.budget_used, "budget_left": outcome.budget_left, "awards": outcome.awards,
        "consortia": len(outcome.consortia),
    })  # fmt: skip


@endpoint("/calls/<int:call_id>/decisions", "POST", summary="Apply the selection, or decide one by one", roles=MANAGERS,
          tag="review", body={"type": "object", "properties": {"apply_selection": {"type": "boolean"},
          "decisions": {"type": "array", "items": {"type": "object", "properties": {
              "application_id": {"type": "integer"}, "outcome": {"type": "string", "enum": ["award", "reserve", "reject"]},
              "justification": {"type": "string"}}}}}},
          response={"type": "object", "properties": {"items": {"type": "array", "items": {"type": "object"}}}})  # fmt: skip
def decisions(call_id: int):
    call = call_rules.get_call_or_404(call_id, current_api_user(), "manage")
    payload = json_body()
    if payload.get("apply_selection") is True:
        made = services.decide(current_api_user(), call, apply_selection=True)
    else:
        rows = payload.get("decisions")
        if not isinstance(rows, list):
            raise ValidationFailed(_("Please correct the marked fields."), fields={"decisions": [_("Must be a list.")]})
        made = services.decide(current_api_user(), call, [r if isinstance(r, dict) else {} for r in rows])
    return jsonify({"items": [{"application_id": d.application_id, "outcome": d.outcome,
                               "against_selection": d.against_selection, "justification": d.justification}
                              for d in made]})  # fmt: skip


@endpoint("/public/calls/<int:call_id>/results", "GET", summary="Funded projects, consortia, amounts, scores",
          auth="optional", tag="public", response={"type": "object", "properties": {
              "items": {"type": "array", "items": {"type": "object"}}}})  # fmt: skip
def public_results(call_id: int):
    call = call_rules.get_call_or_404(call_id, current_api_user())
    return jsonify({"call": {"id": call.id, "code": call.code}, "items": services.public_results(call)})
