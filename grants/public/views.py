from flask import Blueprint, current_app, render_template, send_from_directory

bp = Blueprint("public", __name__)


@bp.route("/")
def home():
    return render_template("public/home.html")


@bp.route("/healthz")
def health():
    return {"status": "ok"}


@bp.route("/favicon.ico")
def favicon():
    """Browsers ask for it on every first visit: a 131-byte icon, cached for a week, not a 404."""
    return send_from_directory(current_app.static_folder, "favicon.ico", mimetype="image/x-icon", max_age=7 * 86400)
