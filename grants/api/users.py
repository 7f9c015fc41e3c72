"""User administration (admin): search users; set roles, disable and re-enable an account."""

from __future__ import annotations

from flask import abort, jsonify, request

from ..accounts import admin_services as services
from ..accounts.models import Role, User
from ..core.inputs import MAX_ID
from ..extensions import db
from .core import current_api_user, endpoint, page_args
from .schema import Body, body

ADMINS = (Role.ADMIN,)
USER_SCHEMA = {"type": "object", "properties": {
    "id": {"type": "integer"},
    "name": {"type": "string"},
    "email": {"type": "string"},
    "locale": {"type": "string"},
    "roles": {"type": "array", "items": {"type": "string", "enum": [r.value for r in Role]}},
    "organizations": {"type": "array", "items": {"type": "string"}},
    "verified": {"type": "boolean"},
    "disabled": {"type": "boolean"},
    "disabled_at": {"type": "string", "format": "date-time", "nullable": True},
    "last_login_at": {"type": "string", "format": "date-time", "nullable": True},
    "active_sessions": {"type": "integer"},
    "pending_email": {"type": "string", "nullable": True},
}}  # fmt: skip
LIST_SCHEMA = {"type": "object", "properties": {"items": {"type": "array", "items": USER_SCHEMA},
               "page": {"type": "integer"}, "per_page": {"type": "integer"}, "total": {"type": "integer"}}}  # fmt: skip
PATCH_BODY = Body({"type": "object", "properties": {
    "roles": {"type": "array", "minItems": 1, "maxItems": len(Role),
              "items": {"type": "string", "enum": [r.value for r in Role]},
              "description": "the user's roles after the change (granted and revoked to match)"},
    "disabled": {"type": "boolean", "description": "true disables (sessions and API tokens end); false re-enables"},
}}, partial=True)  # fmt: skip


def _iso(value):
    return value.isoformat() if value else None


def user_json(user: User, facts: services.UserFacts, *, pending: str | None = None) -> dict:
    return {"id": user.id, "name": user.name, "email": user.email, "locale": user.locale,
            "roles": sorted(r.value for r in user.roles), "organizations": facts.organizations,
            "verified": user.is_verified, "disabled": user.disabled_at is not None,
            "disabled_at": _iso(user.disabled_at), "last_login_at": _iso(user.last_login_at),
            "active_sessions": facts.sessions, "pending_email": pending}  # fmt: skip


@endpoint("/admin/users", "GET", summary="Search users by name or email (?q=, Cyrillic or Latin)", roles=ADMINS,
          response=LIST_SCHEMA, tag="accounts")  # fmt: skip
def list_users():
    page, per_page = page_args()
    result = db.paginate(services.search_query((request.args.get("q") or "")[:200]), page=page, per_page=per_page,
                         error_out=False)  # fmt: skip
    facts = services.facts(list(result.items))
    return jsonify({"items": [user_json(u, facts[u.id]) for u in result.items], "page": page, "per_page": per_page,
                    "total": result.total})  # fmt: skip


def _fetch(user_id: int) -> User:
    user = db.session.get(User, user_id) if 0 < user_id <= MAX_ID else None
    if user is None:
        abort(404)
    return user


@endpoint("/admin/users/<int:user_id>", "GET", summary="One user", roles=ADMINS, response=USER_SCHEMA, tag="accounts")
def get_user(user_id: int):
    user = _fetch(user_id)
    return jsonify(user_json(user, services.facts([user])[user.id], pending=services.pending_email(user)))


@endpoint("/admin/users/<int:user_id>", "PATCH", summary="Set roles; disable or re-enable (409 last_admin)",
          roles=ADMINS, body=PATCH_BODY, response=USER_SCHEMA, tag="accounts")  # fmt: skip
def update_user(user_id: int):
    user = _fetch(user_id)
    actor = current_api_user()
    payload = body()
    if "roles" in payload:
        services.set_roles(actor, user, payload["roles"])
    if payload.get("disabled") is True:
        services.disable(actor, user)
    elif payload.get("disabled") is False:
        services.enable(actor, user)
    return jsonify(user_json(user, services.facts([user])[user.id], pending=services.pending_email(user)))
