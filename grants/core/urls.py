"""Absolute links for emails, feeds and PDFs: one base (`base_url()`), also in the worker, where
there is no request to take the host from."""

from __future__ import annotations

from flask import current_app, has_request_context, request, url_for


def base_url() -> str:
    """GRANTS_BASE_URL in production. In development (it is unset): the address a request came
    to, and outside a request (the worker) the port `make run` serves (PORT)."""
    if has_request_context() and current_app.config.get("BASE_URL_FROM_REQUEST"):
        return request.host_url.rstrip("/")
    return current_app.config["BASE_URL"]


def external_url(endpoint: str, **values) -> str:
    if has_request_context():
        path = url_for(endpoint, **values)
    else:
        path = current_app.url_map.bind("localhost").build(endpoint, values)
    return base_url() + path
