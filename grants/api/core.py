"""The JSON API's plumbing: error format, bearer-token auth, and an endpoint registry from which
the OpenAPI document is generated. Request-body schemas (one per operation, checked before the
view runs and shown in the document) are in schema.py; `ID`, `Body`, `body` and `text` are
re-exported here for the API modules.
Query strings: `query_int(name, default)` (ids bounded to the database's range) and `page_args()`.
A refusal's `ServiceError.extra` is sent inside the error object (e.g. `current_version`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps

from flask import Blueprint, abort, g, jsonify, request
from flask_babel import gettext as _

from ..core.errors import Forbidden, ServiceError, Unauthorized, ValidationFailed
from ..core.inputs import MAX_ID
from .schema import ID, Body, check, form_schema, json_body, openapi_schema, text  # noqa: F401  (re-exported)

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def error_response(status: int, code: str, message: str, fields: dict | None = None, extra: dict | None = None):
    """{"error": {code, message, fields, …extra}}: a refusal's extra data (e.g. `current_version` of a
    stale save) travels with it, never over the three standard keys."""
    error = (extra or {}) | {"code": code, "message": message, "fields": fields or {}}
    return jsonify({"error": error}), status


@bp.errorhandler(ServiceError)
def _service_error(error: ServiceError):
    from ..extensions import db

    db.session.rollback()
    return error_response(error.status, error.code, error.message, error.fields, error.extra)


def form_errors(form) -> dict[str, list[str]]:
    return {name: [str(m) for m in messages] for name, messages in form.errors.items()}


def validated(form_class, payload: dict):
    from ..core.forms import form_from_json

    form = form_from_json(form_class, payload)
    if not form.validate():
        raise ValidationFailed(_("Please correct the marked fields."), fields=form_errors(form))
    return form


def query_int(name: str, default: int | None = None, *, low: int = 1, high: int = MAX_ID) -> int | None:
    """An integer query parameter within low..high (ids: a database id); otherwise the default.
    A number out of range never reaches the database (PostgreSQL casts it to integer: a 500)."""
    value = request.args.get(name, type=int)
    return value if value is not None and low <= value <= high else default


def page_args() -> tuple[int, int]:
    """?page= (1 … 100 000) and ?per_page= (default 50), each brought within its range."""
    page = request.args.get("page", 1, type=int) or 1
    per_page = request.args.get("per_page", 50, type=int) or 50
    return min(max(page, 1), 100_000), min(max(per_page, 1), 200)


def current_api_user():
    return g.get("api_user")


def _authenticate(required_roles: tuple, optional: bool = False) -> None:
    from ..accounts.services import api_token_row
    from ..security import second_factor_required

    header = request.headers.get("Authorization", "")
    if optional and not header:
        g.api_user = None
        return
    scheme, _sep, token = header.partition(" ")
    row = api_token_row(token.strip()) if scheme.lower() == "bearer" and token else None
    if row is None:
        raise Unauthorized(_("A valid API token is required."))
    user = row.user
    if not user.is_active or not user.is_verified:
        raise Forbidden(_("This account is not verified or is disabled."))
    if not row.second_factor and second_factor_required(user):
        raise Forbidden(_("Your role needs two-factor login: ask for a new token with the code from your "
                          "authenticator app."), code="two_factor_required")  # fmt: skip
    if required_roles and not user.has_role(*required_roles):
        abort(404)
    g.api_user = user


@dataclass
class Endpoint:
    rule: str
    method: str
    summary: str
    auth: bool
    roles: tuple
    body: Body | None
    response: dict | None
    status: int
    tags: list[str] = field(default_factory=list)
    path_params: list[str] = field(default_factory=list)


ENDPOINTS: list[Endpoint] = []
EXTRA_PATHS: dict = {}  # operations outside /api/v1 (/readyz, /metrics: grants.ops), shown in the document


def endpoint(
    rule: str,
    method: str,
    *,
    summary: str,
    auth: bool | str = True,
    roles: tuple = (),
    body: Body | None = None,
    response: dict | None = None,
    status: int = 200,
    tag: str = "general",
) -> Callable:
    if body is not None and not isinstance(body, Body):
        raise TypeError(f"{method} {rule}: body= must be a Body (one schema validates and documents the operation)")

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if auth:
                _authenticate(roles, optional=auth == "optional")
            if body is not None:
                g.api_body = body.load()
            return view(*args, **kwargs)

        name = f"{view.__name__}_{method.lower()}"
        bp.add_url_rule(rule, endpoint=name, view_func=wrapped, methods=[method])
        params = [part[1:-1].split(":")[-1] for part in rule.split("/") if part.startswith("<")]
        ENDPOINTS.append(Endpoint(rule, method, summary, auth, roles, body, response, status, [tag], params))
        return wrapped

    return decorator


ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
            },
            "required": ["code", "message", "fields"],
        }
    },
}


def openapi_document() -> dict:
    paths: dict = {}
    for ep in ENDPOINTS:
        path = "/api/v1" + "".join(
            "/{" + part[1:-1].split(":")[-1] + "}" if part.startswith("<") else ("/" + part if part else "")
            for part in ep.rule.split("/")
        ).replace("//", "/")
        op: dict = {
            "summary": ep.summary,
            "tags": ep.tags,
            "operationId": f"{ep.method.lower()}_{path.replace('/', '_').replace('{', '').replace('}', '')}",
            "responses": {
                str(ep.status): {
                    "description": "OK",
                    "content": {"application/json": {"schema": openapi_schema(ep.response or {"type": "object"})}},
                },
                "default": {"description": "Error", "content": {"application/json": {"schema": ERROR_SCHEMA}}},
            },
        }
        if ep.path_params:
            texts = {part[1:-1] for part in ep.rule.split("/") if part.startswith("<") and ":" not in part}
            op["parameters"] = [
                {"name": p, "in": "path", "required": True, "schema": {"type": "string" if p in texts else "integer"}}
                for p in ep.path_params
            ]
        if ep.auth == "optional":
            op["security"] = [{}, {"bearer": []}]
        elif ep.auth:
            op["security"] = [{"bearer": []}]
        if ep.body is not None:
            media = {
                "multipart": ["multipart/form-data"],
                "json|multipart": ["application/json", "multipart/form-data"],
            }
            schema = openapi_schema(ep.body.json_schema())
            content = {kind: {"schema": schema} for kind in media.get(ep.body.media, ["application/json"])}
            op["requestBody"] = {"required": getattr(ep.body, "required", True), "content": content}
        paths.setdefault(path, {})[ep.method.lower()] = op
    return {
        "openapi": "3.0.3",
        "info": {"title": "Grants API", "version": "1.0.0", "description": "JSON API of the Grants system."},
        "servers": [{"url": "/"}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "paths": paths | EXTRA_PATHS,
    }
