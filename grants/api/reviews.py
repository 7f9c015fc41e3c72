from flask import abort, jsonify
from flask_babel import gettext as _

from ..accounts.models import Role
from ..applications.models import Application
from ..calls import rules as call_rules
from ..core.errors import ValidationFailed
from ..extensions import db
from ..reviews import appeals as appeal_services
from ..reviews import assigning, reviewing, rules, scoring
from ..reviews import decisions as decision_services
from ..reviews import eligibility as eligibility_services
from ..reviews.ranking import ranking as compute_ranking
from .core import current_api_user, endpoint
from .schema import ID, Body, body, text

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


def _application_of(call, app_id: int) -> Application:
    app = db.session.get(Application, app_id)
    if app is None or app.call_id != call.id:
        raise ValidationFailed(
            _("Not an application of this call."), fields={"application_id": [_("Not a valid choice.")]}
        )
    return app


NULLABLE_TEXT = {"type": ["string", "null"]}
ELIGIBILITY = Body({"type": "object", "required": ["application_id", "eligible"], "properties": {
    "application_id": ID, "eligible": {"type": "boolean"},
    "reason": NULLABLE_TEXT | {"maxLength": 2000, "description": "required when not eligible"}}})  # fmt: skip


@endpoint("/calls/<int:call_id>/eligibility", "POST", summary="Confirm an application eligible or not, with a reason",
          roles=MANAGERS, tag="review", body=ELIGIBILITY,
          response={"type": "object", "properties": {"application_id": {"type": "integer"}, "status": {"type": "string"}}})  # fmt: skip
def eligibility(call_id: int):
    call = call_rules.get_call_or_404(call_id, current_api_user(), "manage")
    payload = body()
    app = eligibility_services.set_eligibility(current_api_user(), _application_of(call, payload["application_id"]),
                                               eligible=payload["eligible"], reason=payload.get("reason") or "")  # fmt: skip
    return jsonify({"application_id": app.id, "status": app.status})


@endpoint("/calls/<int:call_id>/assignments/auto", "POST", summary="Assign reviewers automatically", roles=MANAGERS,
          tag="review", response={"type": "object", "properties": {
              "assigned": {"type": "integer"}, "per_reviewer": {"type": "object"},
              "unassigned": {"type": "array", "items": {"type": "object"}}}})  # fmt: skip
def auto_assign(call_id: int):
    call = call_rules.get_call_or_404(call_id, current_api_user(), "manage")
    plan = assigning.auto_assign(current_api_user(), call)
    return jsonify({"assigned": len(plan.pairs), "per_reviewer": {str(k): v for k, v in plan.loads.items()},
                    "unassigned": plan.unassigned})  # fmt: skip


@endpoint("/assignments", "GET", summary="The caller's review assignments", roles=(Role.REVIEWER,), tag="review",
          response={"type": "object", "properties": {"items": {"type": "array", "items": ASSIGNMENT}}})  # fmt: skip
def assignments():
    return jsonify({"items": [assignment_json(a) for a in assigning.assignments_of(current_api_user())]})


DECLARATION = Body({"type": "object", "required": ["conflict"], "properties": {
    "conflict": {"type": "boolean"}, "reason": NULLABLE_TEXT | {"maxLength": 2000},
    "pledge": {"type": "boolean", "description": "the confidentiality pledge (default true)"}}})  # fmt: skip


@endpoint("/assignments/<int:assignment_id>/declaration", "POST", summary="Declare conflict / no conflict (and pledge)",
          roles=(Role.REVIEWER,), tag="review", response=ASSIGNMENT, body=DECLARATION)  # fmt: skip
def declaration(assignment_id: int):
    assignment = rules.get_assignment_or_404(assignment_id, current_api_user())
    payload = body()
    reviewing.declare(current_api_user(), assignment, conflict=payload["conflict"], reason=payload.get("reason") or "",
                      pledge=payload.get("pledge", True) is not False)  # fmt: skip
    # "no conflict" from a reviewer now linked to a consortium organization records the conflict
    return jsonify(assignment_json(assignment) | {"conflict_found": payload["conflict"] is False
                                                  and not rules.can_read_content(current_api_user(), assignment)})  # fmt: skip


REVIEW = Body({"type": "object", "properties": {
    "scores": {"type": ["object", "null"], "maxProperties": 100, "description": "{criterion key: score}",
               "additionalProperties": {"type": ["number", "string", "null"], "maxLength": 20}},
    "comments": {"type": ["object", "null"], "maxProperties": 100, "description": "{criterion key: comment}",
                 "additionalProperties": NULLABLE_TEXT | {"maxLength": 5000}},
    "overall_comment": NULLABLE_TEXT | {"maxLength": 10000},
    "submit": {"type": "boolean", "description": "submit (every criterion scored); otherwise a draft"}}})  # fmt: skip


@endpoint("/assignments/<int:assignment_id>/review", "PUT", summary="Save or submit the review", roles=(Role.REVIEWER,),
          tag="review", response=ASSIGNMENT, body=REVIEW)  # fmt: skip
def put_review(assignment_id: int):
    assignment = rules.get_assignment_or_404(assignment_id, current_api_user())
    if not rules.can_open(assignment):
        abort(404)
    payload = body()
    saved = reviewing.save_review(current_api_user(), assignment, scores=payload.get("scores") or {},
                                  comments=payload.get("comments") or {},
                                  overall_comment=payload.get("overall_comment") or "",
                                  submit=payload.get("submit") is True)  # fmt: skip
    if saved is None:
        return _conflict_found()
    return jsonify(assignment_json(assignment))


def _conflict_found():
    """The reviewer is now linked to a consortium organization: nothing was saved, and the
    assignment is marked conflicted for the manager to reassign. The mark is kept although the
    answer is a refusal."""
    from ..core.db import keep_on_refusal
    from .core import error_response

    keep_on_refusal()
    return error_response(409, "conflict_of_interest", _("You are now linked to an organization of this consortium, so "
                                                         "this application has been returned to the programme for "
                                                         "reassignment."))  # fmt: skip


@endpoint("/calls/<int:call_id>/ranking", "GET", summary="Ranking and selection per the scoring rules", roles=MANAGERS,
          tag="review", response={"type": "object", "properties": {"items": {"type": "array", "items": RANK_ITEM},
          "budget_used": {"type": "integer"}, "budget_left": {"type": "integer"}, "awards": {"type": "integer"},
          "consortia": {"type": "integer"}}})  # fmt: skip
def ranking(call_id: int):
    call = call_rules.get_call_or_404(call_id, current_api_user(), "manage")
    outcome, _apps = compute_ranking(call)
    return jsonify({
        "items": [{"application_id": i.application_id, "rank": i.rank, "merit": _number(i.merit),
                   "priority": _number(i.priority), "final": _number(i.final), "flags": i.flags, "selected": i.selected,
                   "reason": i.reason, "reserve": i.reserve, "priority_reasons": i.priority_reasons}
                  for i in outcome.items],
        "budget_used": outcome.budget_used, "budget_left": outcome.budget_left, "awards": outcome.awards,
        "consortia": len(outcome.consortia),
    })  # fmt: skip


DECISION = {"type": "object", "properties": {
    "application_id": {"type": "integer"}, "outcome": {"type": "string", "enum": ["award", "reserve", "reject"],
                                                       "nullable": True},
    "status": {"type": "string", "enum": ["decided", "reopened"]}, "justification": {"type": "string"},
    "against_selection": {"type": "boolean"}, "exceeds": {"type": "array", "items": {"type": "string"}},
    "version": {"type": "integer"}, "decided_at": {"type": "string", "format": "date-time"}}}  # fmt: skip


def decision_json(d) -> dict:
    return {"application_id": d.application_id, "outcome": d.outcome, "status": d.status,
            "justification": d.justification, "against_selection": d.against_selection, "exceeds": list(d.exceeds or []),
            "version": d.version, "decided_at": d.decided_at.isoformat()}  # fmt: skip


DECISIONS = Body({"type": "object", "properties": {
    "apply_selection": {"type": "boolean", "description": "decide every undecided eligible application as computed"},
    "confirm_missing": {"type": ["array", "null"], "maxItems": 1000, "items": {
        "type": "object", "required": ["application_id", "reason"],
        "properties": {"application_id": ID, "reason": text(2000)}}},
    "decisions": {"type": ["array", "null"], "maxItems": 1000,
                  "description": "without apply_selection: the decisions to record", "items": {
        "type": "object", "required": ["application_id", "outcome"], "properties": {
            "application_id": ID, "outcome": {"type": "string", "enum": list(decision_services.OUTCOMES)},
            "justification": NULLABLE_TEXT | {"maxLength": 10000},
            "version": {"type": ["integer", "null"], "minimum": 0, "maximum": decision_services.MAX_ID,
                        "description": "the version being changed (absent or 0: none yet)"}}}}}})  # fmt: skip


@endpoint("/calls/<int:call_id>/decisions", "POST", summary="Apply the selection, or decide one by one", roles=MANAGERS,
          tag="review", body=DECISIONS,
          response={"type": "object", "properties": {"items": {"type": "array", "items": DECISION}}})  # fmt: skip
def decisions(call_id: int):
    call = call_rules.get_call_or_404(call_id, current_api_user(), "manage")
    payload = body()
    if payload.get("apply_selection") is True:  # a refusal's application_ids / version travel in the error
        made = decision_services.decide(current_api_user(), call, apply_selection=True,
                                        confirm_missing=payload.get("confirm_missing"))  # fmt: skip
    elif payload.get("decisions") is None:
        raise ValidationFailed(
            _("Please correct the marked fields."), fields={"decisions": [_("This field is required.")]}
        )
    else:
        made = decision_services.decide(current_api_user(), call, payload["decisions"])
    return jsonify({"items": [decision_json(d) for d in made]})


@endpoint("/applications/<int:app_id>/decision", "GET", summary="The decision on an application (current version)",
          tag="review", response=DECISION)  # fmt: skip
def decision_get(app_id: int):
    from ..applications.rules import get_application_or_404

    app, found = get_application_or_404(app_id, current_api_user())
    decision = decision_services.decision_of(app.id)
    if not (found.manager or found.lead) or not rules.can_read_decision(current_api_user(), found, decision):
        abort(404)
    return jsonify(decision_json(decision))


APPEAL = {"type": "object", "properties": {
    "id": {"type": "integer"}, "application_id": {"type": "integer"}, "decision_version": {"type": "integer"},
    "status": {"type": "string", "enum": ["filed", "upheld", "dismissed"]}, "reason": {"type": "string"},
    "answer": {"type": "string", "nullable": True}, "created_at": {"type": "string", "format": "date-time"}}}  # fmt: skip


def appeal_json(a) -> dict:
    return {"id": a.id, "application_id": a.application_id, "decision_version": a.decision_version, "status": a.status,
            "reason": a.reason, "answer": a.answer, "created_at": a.created_at.isoformat()}  # fmt: skip


APPEAL_BODY = Body({"type": "object", "required": ["reason"], "properties": {
    "reason": text(10000, description="at least 20 characters (422 otherwise)")}})  # fmt: skip
ANSWER_BODY = Body({"type": "object", "required": ["outcome", "answer"], "properties": {
    "outcome": {"type": "string", "enum": ["upheld", "dismissed"]}, "answer": text(10000)}})  # fmt: skip


@endpoint("/applications/<int:app_id>/appeals", "POST", summary="Appeal the decision (the lead, once per decision)",
          tag="review", status=201, body=APPEAL_BODY, response=APPEAL)  # fmt: skip
def appeals_post(app_id: int):
    from ..applications.rules import get_application_or_404

    app, _found = get_application_or_404(app_id, current_api_user(), "lead")
    item = appeal_services.appeal(current_api_user(), app, body()["reason"])
    return jsonify(appeal_json(item)), 201


@endpoint("/appeals/<int:appeal_id>/answer", "POST", summary="Answer an appeal: upheld (reopens the decision) or dismissed",
          roles=MANAGERS, tag="review", body=ANSWER_BODY, response=APPEAL)  # fmt: skip
def appeal_answer(appeal_id: int):
    from ..reviews.models import Appeal

    item = db.session.get(Appeal, appeal_id)
    if item is None:
        abort(404)
    app = db.session.get(Application, item.application_id)
    call_rules.get_call_or_404(app.call_id, current_api_user(), "manage")
    payload = body()
    item = appeal_services.answer_appeal(current_api_user(), item, outcome=payload["outcome"], answer=payload["answer"])
    return jsonify(appeal_json(item))


@endpoint("/public/calls/<int:call_id>/results", "GET", summary="Funded projects, consortia, amounts, scores",
          auth="optional", tag="public", response={"type": "object", "properties": {
              "items": {"type": "array", "items": {"type": "object"}}}})  # fmt: skip
def public_results(call_id: int):
    call = call_rules.get_call_or_404(call_id, current_api_user())
    return jsonify({"call": {"id": call.id, "code": call.code}, "items": decision_services.public_results(call)})


ELIGIBILITY_RESULT = {"type": "object", "properties": {
    "eligible": {"type": "boolean", "nullable": True}, "reason": {"type": "string", "nullable": True},
    "decided_at": {"type": "string", "format": "date-time", "nullable": True}}}  # fmt: skip


@endpoint("/applications/<int:app_id>/eligibility", "GET", tag="review", response=ELIGIBILITY_RESULT,
          summary="The eligibility result and its reason (the consortium's members, managers); null fields before "
                  "screening")  # fmt: skip
def eligibility_get(app_id: int):
    from ..applications import rules as application_rules

    app, _found = application_rules.get_application_or_404(app_id, current_api_user())
    eligible, reason, decided_at = eligibility_services.result(app)
    return jsonify({"eligible": eligible, "reason": reason, "decided_at": decided_at and decided_at.isoformat()})


REOPEN = Body({"type": "object", "required": ["reason"], "properties": {"reason": text(2000, minLength=1)}})


@endpoint("/assignments/<int:assignment_id>/reopen", "POST", roles=MANAGERS, tag="review", body=REOPEN,
          response=ASSIGNMENT, summary="Reopen a submitted review for its reviewer, with a reason (manager); "
                                       "409 not_submitted or invalid_transition when it is not submitted")  # fmt: skip
def reopen_post(assignment_id: int):
    from ..reviews.models import Assignment

    assignment = db.session.get(Assignment, assignment_id)
    if assignment is None:
        abort(404)
    call_rules.get_call_or_404(assignment.application.call_id, current_api_user(), "manage")
    reviewing.reopen(current_api_user(), assignment, body()["reason"])
    return jsonify(assignment_json(assignment))
