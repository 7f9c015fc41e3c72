from flask import jsonify, request

from ..accounts.models import Role
from ..calls import lifecycle, rules, services
from ..calls.models import Call
from ..extensions import db, limiter
from ..organizations.models import Organization
from ..subscriptions import services as subscriptions
from .core import current_api_user, endpoint, page_args
from .schema import ID, Body, body, text

ML_TITLE = {"type": "object", "properties": {lang: text(300) for lang in ("kk", "ru", "en")}}
ML = {"type": "object", "properties": {lang: text(20000) for lang in ("kk", "ru", "en")}}
COUNT = {"type": "integer", "minimum": 0, "maximum": 10_000}
MONEY = {"type": "integer", "minimum": 0, "maximum": 10**13}
CODES = {"type": "array", "maxItems": 100, "items": text(40)}
CRITERION = {
    "type": "object",
    "required": ["key", "title", "weight", "max_score"],
    "properties": {"key": text(40, pattern="^[a-z0-9_]{1,40}$"), "title": ML_TITLE,
                   "weight": {"type": "integer", "minimum": 1, "maximum": 100},
                   "max_score": {"type": "integer", "minimum": 1, "maximum": 100}},
}  # fmt: skip
PRIORITY = {
    "type": "object",
    "properties": {
        **{k: {"type": "integer", "minimum": 0, "maximum": 100}
           for k in ("women_led_points", "youth_led_points", "rural_points", "newcomer_points", "cap")},
        "basis": {"type": "string", "enum": ["lead", "majority"]},
        "youth_age_min": {"type": "integer", "minimum": 0, "maximum": 150},
        "youth_age_max": {"type": "integer", "minimum": 0, "maximum": 150},
    },
}  # fmt: skip
CALL_SCHEMA = {
    "type": "object",
    "required": ["code", "title", "envelope", "min_amount", "max_amount", "opens_at", "closes_at", "criteria"],
    "properties": {
        "code": text(40), "title": ML_TITLE, "description": ML, "currency": text(3, default="KZT"),
        "envelope": MONEY, "min_amount": MONEY, "max_amount": MONEY,
        "opens_at": text(40, format="date-time"), "closes_at": text(40, format="date-time"),
        "themes": CODES, "regions": CODES,
        "max_awards": COUNT | {"default": 20}, "max_awards_per_consortium": COUNT | {"default": 4},
        "max_consortia": COUNT | {"default": 5}, "consortium_min_members": COUNT | {"default": 2},
        "consortium_max_members": COUNT | {"default": 6},
        "reviewers_per_application": COUNT | {"default": 3}, "blind_review": {"type": "boolean"},
        "quality_threshold": {"type": "number", "minimum": 0, "maximum": 100, "default": 60},
        "divergence_threshold": {"type": "number", "minimum": 0, "maximum": 100, "default": 25},
        "alert_offsets_days": {"type": "array", "maxItems": 20, "items": {"type": "integer", "minimum": 0,
                               "maximum": 365}, "default": [30, 14, 7, 3, 1]},
        "priority": PRIORITY, "criteria": {"type": "array", "items": CRITERION, "minItems": 1, "maxItems": 50},
    },
}  # fmt: skip
CALL_BODY = Body(CALL_SCHEMA)
CALL_PATCH = Body(CALL_SCHEMA, partial=True)
CALL = {
    "type": "object",
    "properties": CALL_SCHEMA["properties"] | {
        "id": {"type": "integer"},
        "status": {"type": "string", "enum": ["draft", "published", "closed", "in_review", "decided", "archived"]},
        "published_at": {"type": "string", "format": "date-time", "nullable": True},
        "short_notice_reason": {"type": "string", "nullable": True},
        "guideline": {"type": "object", "nullable": True},
    },
}  # fmt: skip
CALL_LIST = {"type": "object", "properties": {"items": {"type": "array", "items": CALL}, "page": {"type": "integer"},
                                              "per_page": {"type": "integer"}, "total": {"type": "integer"}}}  # fmt: skip
SUBSCRIPTION_BODY = Body({
    "type": "object",
    "required": ["email", "language"],
    "properties": {"email": text(254, format="email"), "language": {"type": "string", "enum": ["kk", "ru", "en"]},
                   "regions": CODES, "themes": CODES},
})  # fmt: skip


def call_json(call: Call) -> dict:
    data = services.to_dict(call)
    data["opens_at"] = call.opens_at.isoformat()
    data["closes_at"] = call.closes_at.isoformat()
    data.update(
        id=call.id,
        status=str(lifecycle.effective_status(call)),
        published_at=call.published_at.isoformat() if call.published_at else None,
        short_notice_reason=call.short_notice_reason,
        guideline={"filename": call.guideline_filename, "sha256": call.guideline_sha256}
        if call.guideline_path
        else None,
    )
    return data


@endpoint("/calls", "GET", summary="Calls: published and later for everyone, all for managers", auth="optional",
          response=CALL_LIST, tag="calls")  # fmt: skip
def list_calls():
    user = current_api_user()
    page, per_page = page_args()
    query = db.select(Call).where(rules.listed(user)).order_by(Call.closes_at.desc())
    result = db.paginate(query, page=page, per_page=per_page, error_out=False)
    return jsonify({"items": [call_json(c) for c in result.items], "page": page, "per_page": per_page,
                    "total": result.total})  # fmt: skip


@endpoint("/calls/<int:call_id>", "GET", summary="One call", auth="optional", response=CALL, tag="calls")
def get_call(call_id: int):
    return jsonify(call_json(rules.get_call_or_404(call_id, current_api_user())))


ELIGIBILITY_BODY = Body({
    "type": "object",
    "required": ["organization_id", "answers"],
    "properties": {
        "organization_id": ID | {"description": "One of the caller's organizations: the one that would lead."},
        "answers": {"type": "object", "required": ["consortium_members", "requested_amount"], "properties": {
            "consortium_members": {"type": "integer", "minimum": 1, "maximum": 100,
                                   "description": "Planned number of organizations in the consortium, the lead included."},
            "requested_amount": MONEY | {"description": "Planned requested amount, in the call's currency."},
        }},
    },
})  # fmt: skip
ELIGIBILITY = {
    "type": "object",
    "required": ["eligible", "reasons"],
    "properties": {
        "eligible": {"type": "boolean"},
        "reasons": {"type": "array", "description": "Every rule that refuses; empty when eligible.", "items": {
            "type": "object", "required": ["code", "message"], "properties": {
                "code": {"type": "string", "enum": ["call_closed", "legal_form", "region", "consortium_size",
                                                   "amount_range"]},
                "message": {"type": "string", "description": "Translated, in the caller's language."}}}},
    },
}  # fmt: skip


@endpoint("/calls/<int:call_id>/eligibility-check", "POST", summary="May this organization apply? Every rule that "
          "refuses, with its reason", body=ELIGIBILITY_BODY, response=ELIGIBILITY, tag="calls")  # fmt: skip
def check_eligibility(call_id: int):
    from flask import abort

    from ..calls import eligibility
    from ..organizations.rules import member_role

    user = current_api_user()
    call = rules.get_call_or_404(call_id, user)
    payload = body()
    org = db.session.get(Organization, payload["organization_id"])
    if org is None or member_role(user, org.id) is None:
        abort(404)
    return jsonify(eligibility.check(call, org, payload["answers"]).as_json())


@endpoint("/calls", "POST", summary="Create a call (draft)", roles=(Role.MANAGER, Role.ADMIN), body=CALL_BODY,
          response=CALL, status=201, tag="calls")  # fmt: skip
def create_call():
    call = services.create(current_api_user(), body())
    return jsonify(call_json(call)), 201


@endpoint("/calls/<int:call_id>", "PATCH", summary="Edit a draft; after publication only wording corrections",
          roles=(Role.MANAGER, Role.ADMIN), body=CALL_PATCH, response=CALL, tag="calls")  # fmt: skip
def update_call(call_id: int):
    call = rules.get_call_or_404(call_id, current_api_user(), "manage")
    payload = body()
    merged = services.to_dict(call)
    for key, value in payload.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merged[key] | value
        else:
            merged[key] = value
    call = services.update(current_api_user(), call, merged)
    return jsonify(call_json(call))


class _OptionalBody(Body):
    """A body clients may leave out (publishing a call with enough lead time needs none)."""

    required = False  # the OpenAPI document says so

    def load(self) -> dict:
        return super().load() if request.get_data(cache=True) else {}


PUBLISH_BODY = _OptionalBody({
    "type": "object",
    "properties": {"short_notice_reason": text(2000, type=["string", "null"], description=(
        "Required when the deadline is less than MIN_LEAD_DAYS (default 30) days away, at least 20 characters; "
        "shown publicly. Without it such a call answers 422 short_notice."))},
})  # fmt: skip


@endpoint("/calls/<int:call_id>/publish", "POST", summary="Publish a draft; matching subscribers are notified",
          roles=(Role.MANAGER, Role.ADMIN), body=PUBLISH_BODY, response=CALL, tag="calls")  # fmt: skip
def publish_call(call_id: int):
    call = rules.get_call_or_404(call_id, current_api_user(), "manage")
    reason = body().get("short_notice_reason")
    return jsonify(call_json(services.publish(current_api_user(), call, short_notice_reason=reason)))


@endpoint("/calls/<int:call_id>/copy", "POST",
          summary="Copy a call as a new draft: every rule and text, the guideline, a new code, the dates moved on "
                  "by whole years until the deadline is in the future", roles=(Role.MANAGER, Role.ADMIN),
          response=CALL, status=201, tag="calls")  # fmt: skip
def copy_call(call_id: int):
    call = rules.get_call_or_404(call_id, current_api_user(), "manage")
    return jsonify(call_json(services.copy(current_api_user(), call))), 201


@endpoint("/subscriptions", "POST", summary="Subscribe to calls and deadline alerts (double opt-in)", auth=False,
          body=SUBSCRIPTION_BODY, status=202, response={"type": "object", "properties": {"status": {"type": "string"}}},
          tag="subscriptions")  # fmt: skip
@limiter.limit("20 per hour")
def create_subscription():
    payload = body()
    subscriptions.subscribe(email=payload["email"], language=payload["language"],
                            regions=payload.get("regions"), themes=payload.get("themes"))  # fmt: skip
    return jsonify({"status": "confirmation_sent"}), 202
