"""Input that can never be stored is refused at the door, before any view or service sees it.

- Characters no database text column can hold: NUL (PostgreSQL refuses it) and lone UTF-16
  surrogates (not encodable as UTF-8), in the path, query string, form fields, file names and
  JSON strings → 400 `invalid_characters`.
- JSON nested deeper than MAX_JSON_DEPTH (no request body of ours nests more than 4 deep;
  100 000 levels used to exhaust the parser's recursion) → 400 `invalid_json`.
- Integer ids in URLs are bounded to PostgreSQL's `integer`: a larger id matches no route → 404.
Errors answer in the request's language: the JSON error format under /api/, a page elsewhere."""

from __future__ import annotations

import json
import re

from flask import Flask, current_app, render_template, request
from flask.json.provider import DefaultJSONProvider
from flask_babel import gettext as _
from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1
MAX_JSON_DEPTH = 32
_BAD = re.compile("[\x00\ud800-\udfff]")


class BoundedIntConverter(IntegerConverter):
    """`<int:…>` limited to the range of a database id; anything larger is simply not found.
    (Raising NotFound here, not werkzeug's ValidationError, which would make the router answer
    405 when another method shares the path.)"""

    def to_python(self, value: str) -> int:
        number = super().to_python(value)
        if number > MAX_ID:
            raise NotFound()
        return number


def _depth_ok(value, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return False
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return True


def has_bad_characters(value) -> bool:
    """True when a string anywhere in `value` (nested dicts, lists, keys) holds NUL or a lone surrogate."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _BAD.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


class TooDeep(ValueError):
    pass


class SafeJSONProvider(DefaultJSONProvider):
    """Parsing that fails as a ValueError (so a 400) on nesting that would exhaust the recursion."""

    def loads(self, s, **kwargs):
        if isinstance(s, bytes | bytearray):
            s = s.decode("utf-8")
        # Cheap pre-check: only a body with that many opening brackets can be too deep.
        if s.count("[") + s.count("{") > MAX_JSON_DEPTH:
            depth = peak = 0
            in_string = escaped = False
            for ch in s:
                if in_string:
                    if escaped:
                        escaped = False
                    elif ch == "\\":
                        escaped = True
                    elif ch == '"':
                        in_string = False
                elif ch == '"':
                    in_string = True
                elif ch in "[{":
                    depth += 1
                    peak = max(peak, depth)
                    if peak > MAX_JSON_DEPTH:
                        raise TooDeep("JSON nested too deeply")
                elif ch in "]}":
                    depth -= 1
        return json.loads(s, **kwargs)


def _refuse(code: str, message: str):
    if request.path.startswith("/api/"):
        from ..api.core import error_response

        return error_response(400, code, message)
    return render_template("error.html", status=400, message=message), 400


def _invalid_characters():
    return _refuse(
        "invalid_characters",
        _("The request contains characters that cannot be stored (a NUL byte or a broken character)."),
    )


def check_request():
    """before_request: refuse what cannot be stored, whatever the route."""
    if _BAD.search(request.path):
        return _invalid_characters()
    for key, value in request.args.items(multi=True):
        if _BAD.search(key) or _BAD.search(value):
            return _invalid_characters()
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        if request.is_json:
            raw = request.get_data(cache=True)
            if raw.strip():
                try:
                    payload = current_app.json.loads(raw)
                except TooDeep:
                    return _refuse("invalid_json", _("The request body is nested too deeply."))
                except ValueError:  # malformed JSON or not UTF-8: the view answers invalid_json
                    payload = None
                if payload is not None:
                    if not _depth_ok(payload, MAX_JSON_DEPTH):
                        return _refuse("invalid_json", _("The request body is nested too deeply."))
                    if has_bad_characters(payload):
                        return _invalid_characters()
        elif request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            for key, value in request.form.items(multi=True):  # a part may come without a value
                if _BAD.search(key or "") or _BAD.search(value or ""):
                    return _invalid_characters()
            for storage in request.files.values():
                if storage.filename and _BAD.search(storage.filename):
                    return _invalid_characters()
    return None


def init_app(app: Flask) -> None:
    app.url_map.converters["int"] = BoundedIntConverter
    app.json_provider_class = SafeJSONProvider
    app.json = SafeJSONProvider(app)
    app.before_request(check_request)
