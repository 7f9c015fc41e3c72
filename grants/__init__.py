"""Grants: small-grants competitions for environmental NGO consortia."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask

from . import config as config_module
from ._data import default_instance, resource
from .extensions import babel, csrf, db, limiter, login_manager, migrate

ROOT = Path(__file__).resolve().parent.parent


class GrantsFlask(Flask):
    """Flask with one unit of work per request: the view's services only flush, and the request
    commits once when the answer is a success (< 400) or rolls back as a whole otherwise."""

    def dispatch_request(self):
        from werkzeug.exceptions import HTTPException

        from .core.db import begin_unit, end_unit, kept_on_refusal
        from .core.errors import ServiceError

        begin_unit()
        try:
            response = self.make_response(super().dispatch_request())
        except (ServiceError, HTTPException):  # a refusal raised (the API's way): kept if it asked so
            if kept_on_refusal():
                end_unit(success=True)
            raise
        end_unit(success=response.status_code < 400 or kept_on_refusal())
        return response

    def get_send_file_max_age(self, filename):
        """Static files asked for with their content's hash (`?v=`, added to every static URL)
        never change: a phone keeps them a year instead of asking again on every page (one
        round trip each, 800 ms on a rural link)."""
        from flask import has_request_context, request

        if has_request_context() and request.args.get("v"):
            return 365 * 24 * 3600
        return super().get_send_file_max_age(filename)


def _static_versions(app: Flask) -> None:
    import hashlib
    from functools import cache

    @cache
    def version(filename: str) -> str:
        try:
            return hashlib.sha256((Path(app.static_folder) / filename).read_bytes()).hexdigest()[:10]
        except OSError:
            return ""

    @app.url_defaults
    def add_version(endpoint, values):
        if endpoint == "static" and "v" not in values and values.get("filename"):
            tag = version(values["filename"])
            if tag:
                values["v"] = tag


def create_app(overrides: dict | None = None) -> Flask:
    instance = Path(os.environ.get("GRANTS_INSTANCE_DIR") or default_instance())
    from .core import inputs

    app = GrantsFlask(
        __name__,
        instance_path=str(instance),
        template_folder=str(resource("templates")),
        static_folder="static",
    )
    app.config.update(config_module.from_environment(instance))
    if overrides:
        app.config.update(overrides)
    inputs.init_app(app)  # before any route: bounded <int:> ids, safe JSON, refused NUL bytes

    from . import i18n, security

    db.init_app(app)
    migrate.init_app(app, db, directory=str(resource("migrations")), render_as_batch=True)
    babel.init_app(app, locale_selector=i18n.select_locale)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    i18n.init_app(app)
    security.init_app(app)

    from .celery_app import celery_init_app

    celery_init_app(app)

    from . import models  # noqa: F401  (every table registered before migrations/CLI)
    from .accounts.views import bp as accounts_bp
    from .admin.views import bp as admin_bp
    from .api import bp as api_bp
    from .applications.offline import bp as offline_bp
    from .applications.views import bp as applications_bp
    from .audit.views import bp as audit_bp
    from .awards.views import bp as awards_bp
    from .calls.views import bp as calls_bp
    from .consortia.views import bp as consortia_bp
    from .home.views import bp as home_bp
    from .organizations.views import bp as organizations_bp
    from .public.views import bp as public_bp
    from .reviews.views import bp as reviews_bp
    from .subscriptions.views import bp as subscriptions_bp

    blueprints = (
        public_bp, accounts_bp, organizations_bp, calls_bp, subscriptions_bp, consortia_bp, applications_bp,
        reviews_bp, awards_bp, audit_bp, admin_bp, api_bp, offline_bp, home_bp,
    )  # fmt: skip
    for blueprint in blueprints:
        app.register_blueprint(blueprint)
    csrf.exempt(api_bp)
    from .channels.views import bp as channels_bp

    app.register_blueprint(channels_bp)  # Telegram and SMS (its webhook is exempt from CSRF itself)
    from .clarifications.views import bp as clarifications_bp

    app.register_blueprint(clarifications_bp)  # clarification requests on submitted applications
    from .questions.views import bp as questions_bp

    app.register_blueprint(questions_bp)  # public questions and answers per call
    from .broadcasts.views import bp as broadcasts_bp

    app.register_blueprint(broadcasts_bp)  # managers' messages to groups of people
    from .admin.users import bp as users_bp

    app.register_blueprint(users_bp)  # users and roles (admin), and the email-change link
    from .accounts.data_views import bp as personal_data_bp

    app.register_blueprint(personal_data_bp)  # download my data, delete my account

    from . import errors
    from .organizations.reference import template_globals

    app.jinja_env.globals.update(template_globals())
    from .cli import register_cli

    errors.init_app(app)
    register_cli(app)
    _static_versions(app)
    from .ops import init_app as ops_init

    ops_init(app)  # /readyz, /metrics, request ids and JSON logs
    from .core.clock import ArrivalStamp

    app.wsgi_app = ArrivalStamp(app.wsgi_app)  # outermost: deadlines count from when a request arrived
    return app
