"""The JSON API's plumbing: error format, bearer-token auth, and an endpoint registry from
which the OpenAPI document is generated (request schemas come from the same WTForms forms
the web pages use, so validation and documentation cannot drift apart)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps

from flask import Blueprint, abort, g, jsonify, request
from flask_babel import gettext as _
from wtforms import (
    BooleanField,
    DateTimeField,
    DecimalField,
    EmailField,
    FieldList,
    FileField,
    IntegerField,
    SelectField,
    SelectMultipleField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from ..core.errors import Forbidden, ServiceError, Unauthorized

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def error_response(status: int, code: str, message: str, fields: dict | None = None):
    body = {"error": {"code": code, "message": message, "fields": fields or {}}}
    return jsonify(body), status


@bp.errorhandler(ServiceError)
def _service_error(error: ServiceError):
    from ..extensions import db

    db.session.rollback()
    return error_response(error.status, error.code, error.message, error.fields)


def json_body() -> dict:
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        raise ServiceError(_("The request body must be a JSON object."), code="invalid_json")
    return payload


def form_errors(form) -> dict[str, list[str]]:
    return {name: [str(m) for m in messages] for name, messages in form.errors.items()}


def validated(form_class, payload: dict):
    from ..core.errors import ValidationFailed
    from ..core.forms import form_from_json

    form = form_from_json(form_class, payload)
    if not form.validate():
        raise ValidationFailed(_("Please correct the marked fields."), fields=form_errors(form))
    return form


def current_api_user():
    return g.get("api_user")


def _authenticate(required_roles: tuple, optional: bool = False) -> None:
    from ..accounts.services import user_for_api_token

    header = request.headers.get("Authorization", "")
    if optional and not header:
        g.api_user = None
        return
    scheme, _sep, token = header.partition(" ")
    user = user_for_api_token(token.strip()) if scheme.lower() == "bearer" and token else None
    if user is None:
        raise Unauthorized(_("A valid API token is required."))
    if not user.is_active or not user.is_verified:
        raise Forbidden(_("This account is not verified or is disabled."))
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
    body: type | dict | None
    response: dict | None
    status: int
    tags: list[str] = field(default_factory=list)
    path_params: list[str] = field(default_factory=list)


ENDPOINTS: list[Endpoint] = []


def endpoint(
    rule: str,
    method: str,
    *,
    summary: str,
    auth: bool | str = True,
    roles: tuple = (),
    body=None,
    response: dict | None = None,
    status: int = 200,
    tag: str = "general",
) -> Callable:
    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if auth:
                _authenticate(roles, optional=auth == "optional")
            return view(*args, **kwargs)

        name = f"{view.__name__}_{method.lower()}"
        bp.add_url_rule(rule, endpoint=name, view_func=wrapped, methods=[method])
        params = [part[1:-1].split(":")[-1] for part in rule.split("/") if part.startswith("<")]
        ENDPOINTS.append(Endpoint(rule, method, summary, auth, roles, body, response, status, [tag], params))
        return wrapped

    return decorator


def _field_schema(f) -> dict:
    if isinstance(f, BooleanField):
        return {"type": "boolean"}
    if isinstance(f, IntegerField):
        schema = {"type": "integer"}
    elif isinstance(f, DecimalField):
        schema = {"type": "number"}
    elif isinstance(f, DateTimeField):
        schema = {"type": "string", "format": "date-time"}
    elif isinstance(f, EmailField):
        schema = {"type": "string", "format": "email"}
    elif isinstance(f, SelectMultipleField | FieldList):
        return {"type": "array", "items": {"type": "string"}}
    elif isinstance(f, SelectField):
        choices = [c.value for c in (f.choices or []) if c.value != ""]
        schema = {"type": "string", "enum": choices} if choices else {"type": "string"}
    elif isinstance(f, FileField):
        schema = {"type": "string", "format": "binary"}
    else:
        schema = {"type": "string"}
    for v in f.validators:
        if isinstance(v, Length) and v.max and v.max > 0:
            schema["maxLength"] = v.max
        if isinstance(v, NumberRange):
            if v.min is not None:
                schema["minimum"] = v.min
            if v.max is not None:
                schema["maximum"] = v.max
    if f.description:
        schema["description"] = str(f.description)
    return schema


def form_schema(form_class) -> dict:
    """JSON Schema of a WTForms form, built from an unbound instance's fields."""
    from ..core.forms import form_from_json

    form = form_from_json(form_class, {})
    props, required = {}, []
    for name, f in form._fields.items():
        if name == "csrf_token":
            continue
        props[name] = _field_schema(f)
        if any(isinstance(v, DataRequired | InputRequired) for v in f.validators):
            required.append(name)
    schema = {"type": "object", "properties": props}
    if required:
        schema["required"] = required
    return schema


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
                    "content": {"application/json": {"schema": ep.response or {"type": "object"}}},
                },
                "default": {"description": "Error", "content": {"application/json": {"schema": ERROR_SCHEMA}}},
            },
        }
        if ep.path_params:
            op["parameters"] = [
                {"name": p, "in": "path", "required": True, "schema": {"type": "integer"}} for p in ep.path_params
            ]
        if ep.auth == "optional":
            op["security"] = [{}, {"bearer": []}]
        elif ep.auth:
            op["security"] = [{"bearer": []}]
        if ep.body is not None:
            schema = ep.body if isinstance(ep.body, dict) else form_schema(ep.body)
            op["requestBody"] = {"required": True, "content": {"application/json": {"schema": schema}}}
        paths.setdefault(path, {})[ep.method.lower()] = op
    return {
        "openapi": "3.0.3",
        "info": {"title": "Grants API", "version": "1.0.0", "description": "JSON API of the Grants system."},
        "servers": [{"url": "/"}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "paths": paths,
    }
