"""Operations: /readyz (can this process serve: database, broker, storage, each with its latency)
beside /healthz (is the process alive), Prometheus metrics at /metrics, and the request id and
JSON logs of core.logs. Both answers are for machines: English, no session, no rate limit, never
cached. /metrics answers only a bearer token (GRANTS_METRICS_TOKEN) or a client from an allowed
network (GRANTS_METRICS_ALLOW); anyone else gets the site's ordinary 404."""

from __future__ import annotations

from flask import Blueprint, Flask, abort, current_app, jsonify

from . import health, metrics

bp = Blueprint("ops", __name__)


@bp.route("/readyz")
def readyz():
    results = health.check_all(current_app._get_current_object())
    ready = all(result["ok"] for result in results.values())
    response = jsonify({"status": "ready" if ready else "unavailable", **results})
    response.status_code = 200 if ready else 503
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/metrics")
def prometheus_metrics():
    app = current_app._get_current_object()
    if not metrics.may_read(app):
        abort(404)
    body, content_type = metrics.exposition(app)
    response = current_app.response_class(body, mimetype=None, content_type=content_type)
    response.headers["Cache-Control"] = "no-store"
    return response


CHECK_SCHEMA = {
    "type": "object",
    "required": ["ok", "ms"],
    "properties": {
        "ok": {"type": "boolean"},
        "ms": {"type": "number", "nullable": True, "description": "How long the check took, in milliseconds."},
        "error": {"type": "string"},
    },
}
READY_SCHEMA = {
    "type": "object",
    "required": ["status", "database", "broker", "storage"],
    "properties": {"status": {"type": "string", "enum": ["ready", "unavailable"]}}
    | {name: CHECK_SCHEMA for name in health.CHECKS},
}
OPENAPI_PATHS = {
    "/readyz": {
        "get": {
            "summary": "Readiness: the database, the broker and the storage answer (each with its latency)",
            "tags": ["operations"],
            "operationId": "get_readyz",
            "responses": {
                "200": {"description": "Ready", "content": {"application/json": {"schema": READY_SCHEMA}}},
                "503": {
                    "description": "A service is down (ok: false, with its error)",
                    "content": {"application/json": {"schema": READY_SCHEMA}},
                },
            },
        }
    },
    "/metrics": {
        "get": {
            "summary": "Prometheus metrics (a bearer GRANTS_METRICS_TOKEN, or a client in GRANTS_METRICS_ALLOW)",
            "tags": ["operations"],
            "operationId": "get_metrics",
            "security": [{"bearer": []}, {}],
            "responses": {
                "200": {
                    "description": "Prometheus text format 0.0.4",
                    "content": {"text/plain": {"schema": {"type": "string"}}},
                },
                "404": {"description": "Neither the token nor an allowed address: the site's ordinary 404"},
            },
        }
    },
}


def init_app(app: Flask) -> None:
    from ..core import logs
    from ..extensions import limiter

    logs.init_app(app)
    metrics.init_app(app)
    app.register_blueprint(bp)
    limiter.exempt(bp)
    try:
        from ..api import core as api_core
    except ImportError:  # pragma: no cover (the API is always there; the document is optional)
        return
    if hasattr(api_core, "EXTRA_PATHS"):
        api_core.EXTRA_PATHS.update(OPENAPI_PATHS)
