"""Request bodies: ONE schema per operation, used both to refuse a bad body (422, before the view or
any service sees it) and to document the operation. A schema is a plain JSON-Schema dict (the
subset `check` below understands) wrapped in `Body`, or a WTForms form class wrapped in `Body`
(its schema is derived from the form's fields, and the view still runs the form for its messages):

    from .core import endpoint
    from .schema import ID, Body, body, text

    PAID = Body({"type": "object", "required": ["paid_on"], "properties": {
        "paid_on": {"type": "string", "format": "date"},
        "reference": text(200),                     # a string of at most 200 characters
        "application_id": ID,                       # 1 … 2**31-1 (bigger ids are refused, never a 500)
        "lines": {"type": "array", "maxItems": 50, "items": {"type": "object", "properties": {...}}},
    }})

    @endpoint("/awards/<int:award_id>/tranches/<int:n>/paid", "POST", summary="…", body=PAID, …)
    def mark_paid(award_id, n):
        payload = body()          # the validated body: declared keys only, types as declared
        …

Keywords understood: type (one or a list, "null" allowed), enum, properties, required,
additionalProperties (a schema, or absent: undeclared keys are dropped), items, minItems, maxItems,
minLength, maxLength, pattern, format (date, date-time, email; binary = a multipart file),
minimum, maximum, exclusiveMinimum, maxProperties. Unbounded integers are limited to ±2**53,
strings to 20 000 characters and lists to 1 000 items. `Body(..., partial=True)` (PATCH) drops
`required`; `Body(..., media="multipart")` validates form fields and files (`media="json|multipart"`:
either, by the request's Content-Type). `body=` takes a `Body`
and nothing else (`endpoint` refuses a plain dict or a form class at import): no operation can be
documented without being validated."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime

from flask import g, request
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

from ..core.errors import ServiceError, ValidationFailed
from ..core.inputs import MAX_ID


def json_body() -> dict:
    """The raw JSON object of the request (400 otherwise); operations read `body()` instead."""
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        raise ServiceError(_("The request body must be a JSON object."), code="invalid_json")
    return payload


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


# --- request-body schemas ----------------------------------------------------------------------

ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}  # a database id inside a body
BIG = 2**53  # unbounded integers: what every JSON parser keeps exact
MAX_TEXT = 20_000
MAX_ITEMS = 1_000


def text(max_length: int, **more) -> dict:
    return {"type": "string", "maxLength": max_length} | more


def _is(kind: str, value) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "array":
        return isinstance(value, list)
    if kind == "object":
        return isinstance(value, dict)
    if kind == "null":
        return value is None
    return False


def _type_message(kinds: list[str]) -> str:
    kind = next((k for k in kinds if k != "null"), "object")
    return {
        "string": _("Must be text."), "integer": _("Please enter a whole number."), "number": _("Please enter a number."),
        "boolean": _("Must be true or false."), "array": _("Must be a list."), "object": _("Must be an object."),
    }[kind]  # fmt: skip


def _format_ok(fmt: str, value: str) -> bool:
    try:
        if fmt == "date-time":
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        elif fmt == "date":
            date.fromisoformat(value)
        elif fmt == "email":
            return bool(re.fullmatch(r"[^@\s]{1,64}@[^@\s]{1,190}", value.strip()))
    except ValueError:
        return False
    return True


def check(schema: dict, value, path: str, errors: dict):
    """Check `value` against `schema`; return the cleaned value (objects keep only declared keys).
    Problems are added to errors[path] in the user's language."""

    def fail(message: str):
        errors.setdefault(path or "body", []).append(message)

    kinds = schema.get("type")
    kinds = [kinds] if isinstance(kinds, str) else list(kinds or [])
    if schema.get("nullable"):
        kinds.append("null")
    if kinds and not any(_is(k, value) for k in kinds):
        fail(_type_message(kinds))
        return None
    if value is None:
        return None
    if "enum" in schema and value not in schema["enum"]:
        fail(_("Not a valid choice."))
        return None
    if isinstance(value, str):
        limit = schema.get("maxLength", MAX_TEXT)
        if len(value) > limit:
            fail(_("Too long: at most %(n)d characters.", n=limit))
        elif len(value.strip()) < schema.get("minLength", 0):
            fail(_("Too short: at least %(n)d characters.", n=schema["minLength"]))
        elif "pattern" in schema and not re.search(schema["pattern"], value):
            fail(_("Not in the expected format."))
        elif "format" in schema and not _format_ok(schema["format"], value):
            fail(_("Not in the expected format."))
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        low = schema.get("minimum", -BIG)
        high = schema.get("maximum", BIG)
        if value < low or value > high or ("exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]):
            low = schema.get("exclusiveMinimum", low)
            fail(_("Please enter a number from %(low)s to %(high)s.", low=low, high=high))
            return None
        return value
    if isinstance(value, list):
        if len(value) > schema.get("maxItems", MAX_ITEMS):
            fail(_("At most %(n)d items.", n=schema.get("maxItems", MAX_ITEMS)))
            return None
        if len(value) < schema.get("minItems", 0):
            fail(_("At least %(n)d items.", n=schema["minItems"]))
            return None
        items = schema.get("items", {})
        return [check(items, item, f"{path}.{i}" if path else str(i), errors) for i, item in enumerate(value)]
    if isinstance(value, dict):
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        if len(value) > schema.get("maxProperties", MAX_ITEMS):
            fail(_("At most %(n)d items.", n=schema.get("maxProperties", MAX_ITEMS)))
            return None
        out = {}
        for name in schema.get("required", ()):
            if name not in value or value[name] is None or value[name] == "":
                errors.setdefault(f"{path}.{name}" if path else name, []).append(_("This field is required."))
        for key, item in value.items():
            where = f"{path}.{key}" if path else key
            if key in props:
                out[key] = check(props[key], item, where, errors)
            elif isinstance(extra, dict):
                if len(key) > 100:
                    errors.setdefault(path or "body", []).append(_("Not a valid choice."))
                else:
                    out[key] = check(extra, item, where, errors)
        return out
    return value


@dataclass(frozen=True)
class Body:
    """The one schema of an operation's request body (validation and OpenAPI)."""

    schema: dict | type
    media: str = "json"  # or "multipart", or "json|multipart" (either, by the request's Content-Type)
    partial: bool = False  # PATCH: no field is required

    def json_schema(self) -> dict:
        schema = self.schema if isinstance(self.schema, dict) else _form_body_schema(self.schema)
        if self.partial:
            schema = {k: v for k, v in schema.items() if k != "required"}
        return schema

    def load(self) -> dict:
        """The request's body, validated: 400 when it is not an object, 422 listing each problem."""
        if self.media == "multipart" or (self.media == "json|multipart" and request.mimetype == "multipart/form-data"):
            schema = self.json_schema()
            payload = _form_payload(schema)
            for name, prop in schema.get("properties", {}).items():
                if prop.get("format") == "binary":
                    payload.pop(name, None)
            errors: dict = {}
            cleaned = check({**schema, "properties": {k: v for k, v in schema.get("properties", {}).items()
                                                      if v.get("format") != "binary"},
                             "required": [r for r in schema.get("required", [])
                                          if schema["properties"].get(r, {}).get("format") != "binary"]},
                            payload, "", errors)  # fmt: skip
        else:
            payload = json_body()
            errors = {}
            cleaned = check(self.json_schema(), payload, "", errors)
        if errors:
            raise ValidationFailed(_("Please correct the marked fields."), fields=errors)
        return cleaned


_TRUE, _FALSE = {"y", "yes", "on", "true", "1"}, {"", "n", "no", "off", "false", "0"}


def _form_payload(schema: dict) -> dict:
    """Multipart form fields as the schema's types: a list field from its repeated values, a boolean
    from the text a form sends ("y", "true", "on", "1" / "", "false", …; anything else stays text and
    is refused by the check)."""
    props = schema.get("properties", {})
    payload: dict = {}
    for key in request.form:
        kinds = props.get(key, {}).get("type")
        kinds = [kinds] if isinstance(kinds, str) else list(kinds or [])
        if "array" in kinds:
            payload[key] = request.form.getlist(key)
            continue
        values = request.form.getlist(key)
        if len(values) > 1:  # one value expected: the check refuses the list (never "the first one")
            payload[key] = values
            continue
        value = values[0]
        if "boolean" in kinds and "string" not in kinds and value.strip().lower() in _TRUE | _FALSE:
            value = value.strip().lower() in _TRUE
        payload[key] = value
    return payload


def body() -> dict:
    """The current operation's validated body (see Body)."""
    return g.api_body


def _form_body_schema(form_class) -> dict:
    """A form's schema for JSON clients: what the form documents, with numbers and booleans also
    accepted as the text a form would send."""
    schema = form_schema(form_class)
    props = {}
    for name, prop in schema["properties"].items():
        prop = dict(prop)
        if prop.get("type") == "integer":
            prop["type"] = ["integer", "string", "null"]
            prop.setdefault("pattern", r"^\s*-?\d{0,12}\s*$")
        elif prop.get("type") == "number":
            prop["type"] = ["number", "string", "null"]
            prop.setdefault("pattern", r"^\s*-?[\d\s]{0,15}([.,]\d{0,4})?\s*$")
        elif prop.get("type") == "boolean":
            prop["type"] = ["boolean", "null"]
        elif prop.get("type") == "array":
            prop["maxItems"] = 100
            prop["items"] = text(200)
        elif prop.get("type") == "string":
            prop["type"] = ["string", "null"]
            prop.setdefault("maxLength", MAX_TEXT)
            if prop.get("enum"):
                prop["enum"] = [*prop["enum"], "", None]
        props[name] = prop
    return schema | {"properties": props}


def openapi_schema(schema):
    """A checked schema as OpenAPI 3.0 writes it (no type lists: `nullable`, `anyOf`)."""
    if isinstance(schema, list):
        return [openapi_schema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: openapi_schema(v) if k in ("items", "additionalProperties") else v for k, v in schema.items()}
    if "properties" in schema:
        out["properties"] = {k: openapi_schema(v) for k, v in schema["properties"].items()}
    if "enum" in out and None in out["enum"]:
        out["enum"] = [v for v in out["enum"] if v is not None]
        out["nullable"] = True
    kinds = schema.get("type")
    if isinstance(kinds, list):
        solid = [k for k in kinds if k != "null"]
        if len(solid) != len(kinds):
            out["nullable"] = True
        if len(solid) == 1:
            out["type"] = solid[0]
        else:  # each alternative carries its own keywords (`items` only beside type array, …)
            del out["type"]
            out["anyOf"] = [{"type": k} | {key: out.pop(key) for key in _KEYWORDS_OF[k] & set(out)} for k in solid]
            for branch in out["anyOf"]:
                _exclusive_minimum(branch)
    _exclusive_minimum(out)
    return out


_NUMERIC = frozenset({"minimum", "maximum", "exclusiveMinimum"})
_KEYWORDS_OF = {
    "string": frozenset({"minLength", "maxLength", "pattern", "format"}), "integer": _NUMERIC, "number": _NUMERIC,
    "array": frozenset({"items", "minItems", "maxItems"}), "boolean": frozenset(),
    "object": frozenset({"properties", "required", "additionalProperties", "maxProperties"}),
}  # fmt: skip


def _exclusive_minimum(schema: dict) -> None:
    """JSON Schema's numeric exclusiveMinimum as OpenAPI 3.0 writes it (a boolean beside minimum)."""
    if "exclusiveMinimum" in schema and not isinstance(schema["exclusiveMinimum"], bool):
        schema["minimum"], schema["exclusiveMinimum"] = schema["exclusiveMinimum"], True
