from flask import jsonify, request

from ..accounts import services, two_factor
from ..accounts.forms import ApiLoginForm
from ..core.errors import ServiceError, Unauthorized
from ..extensions import db, limiter
from ..organizations.models import Membership
from .core import current_api_user, endpoint, openapi_document, validated
from .schema import Body, body, text

USER_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "email": {"type": "string"},
        "name": {"type": "string"},
        "locale": {"type": "string", "enum": ["kk", "ru", "en"]},
        "roles": {"type": "array", "items": {"type": "string"}},
        "email_verified": {"type": "boolean"},
    },
}
ME_SCHEMA = {
    "type": "object",
    "properties": USER_SCHEMA["properties"]
    | {
        "organizations": {
            "type": "array",
            "items": {"type": "object", "properties": {"id": {"type": "integer"}, "role": {"type": "string"}}},
        }
    },
}
REGISTER_BODY = Body(
    {
        "type": "object",
        "properties": {
            "email": text(254, format="email"),
            "password": text(200, description=f"At least {services.MIN_PASSWORD_LENGTH} characters."),
            "name": text(200),
            "locale": {"type": "string", "enum": ["kk", "ru", "en"], "default": "ru"},
        },
    }
)  # the service checks what is required and says so field by field
LOGIN_BODY = Body(ApiLoginForm)
REGISTERED_SCHEMA = {
    "type": "object",
    "description": "The same answer whether or not the address already has an account.",
    "properties": {k: USER_SCHEMA["properties"][k] for k in ("email", "name", "locale", "roles", "email_verified")},
    "required": ["email", "name", "locale", "roles", "email_verified"],
}
TOKEN_SCHEMA = {
    "type": "object",
    "properties": {"token": {"type": "string"}, "expires_at": {"type": "string", "format": "date-time"}},
}


def user_json(user) -> dict:
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "locale": user.locale,
        "roles": sorted(user.roles),
        "email_verified": user.is_verified,
    }


@endpoint("/openapi.json", "GET", summary="This OpenAPI document", auth=False, tag="general")
def openapi():
    return jsonify(openapi_document())


def _token_key() -> str:
    """The per-account limiter key. Only a text address names an account: anything else (a list,
    an object) is refused as 422 by the body's schema, and never gets a key of its own."""
    payload = request.get_json(silent=True)
    email = payload.get("email") if isinstance(payload, dict) else None
    return "api-login:" + (services.normalize_email(email) if isinstance(email, str) else "")


def _failed(response) -> bool:
    return response.status_code == 401


@endpoint(
    "/auth/token", "POST", summary="Exchange email and password for a bearer token", auth=False,
    body=LOGIN_BODY, response=TOKEN_SCHEMA, status=201, tag="auth",
)  # fmt: skip
@limiter.limit("100 per minute", deduct_when=_failed)
@limiter.limit("5 per 15 minutes", key_func=_token_key, deduct_when=_failed)
def token():
    form = validated(ApiLoginForm, body())
    try:
        user = services.authenticate(form.email.data, form.password.data)
    except ServiceError as error:
        if error.code == "invalid_credentials":
            raise Unauthorized(error.message, code="invalid_credentials") from None
        raise
    passed = two_factor.check_api_login(user, form.otp.data)  # 401 otp_required / invalid_otp
    value, expires = services.issue_api_token(user, second_factor=passed)
    return jsonify({"token": value, "expires_at": expires.isoformat()}), 201


@endpoint("/auth/token", "DELETE", summary="Revoke the token used for this request", tag="auth", status=204)
def revoke_token():
    value = request.headers.get("Authorization", "").partition(" ")[2].strip()
    services.revoke_api_token(value)
    return "", 204


@endpoint(
    "/users", "POST", summary="Register an account; a verification email is sent", auth=False,
    body=REGISTER_BODY, response=REGISTERED_SCHEMA, status=201, tag="accounts",
)  # fmt: skip
@limiter.limit("20 per hour")
def create_user():
    payload = body()
    name, locale = payload.get("name") or "", payload.get("locale") or "ru"
    email = services.register(email=payload.get("email") or "", name=name, password=payload.get("password") or "",
                              locale=locale)  # fmt: skip
    # Nothing that differs between a new account and an address that already had one (no id).
    return jsonify({"email": email, "name": name.strip()[:200], "locale": locale, "roles": ["applicant"],
                    "email_verified": False}), 201  # fmt: skip


@endpoint("/me", "GET", summary="The caller's account and organizations", response=ME_SCHEMA, tag="accounts")
def me():
    user = current_api_user()
    rows = db.session.execute(
        db.select(Membership.organization_id, Membership.role).filter_by(user_id=user.id).order_by(Membership.id)
    ).all()
    return jsonify(user_json(user) | {"organizations": [{"id": oid, "role": role} for oid, role in rows]})
