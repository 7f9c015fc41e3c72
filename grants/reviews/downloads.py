"""The reviewer's downloads: the application as PDF and its attachments, stamped with the
reviewer's seat and the date, blind when the call says so, logged, and closed again as soon as a
conflict of interest is found. Routes of the reviews blueprint."""

from __future__ import annotations

from flask import abort, render_template
from flask_babel import gettext as _
from flask_login import current_user

from ..accounts.models import Role
from ..core.access import role_required
from ..core.uploads import download
from . import reviewing, rules
from .views import _conflict_found, _log_reviewer, bp


def _stamp_text(assignment) -> str:
    from ..core import clock
    from ..i18n import current_locale, display_zone
    from .watermark import watermark_text

    return watermark_text(assignment.seat, clock.now().astimezone(display_zone()).date(), current_locale())


@bp.route("/reviews/<int:assignment_id>/application.pdf")
@role_required(Role.REVIEWER)
def review_pdf(assignment_id: int):
    """The application as PDF for the reviewer: blind if the call says so, stamped with the
    reviewer's seat and the date on every page."""
    from ..applications.pdf import application_pdf
    from ..i18n import current_locale
    from .watermark import stamp

    assignment = rules.get_assignment_or_404(assignment_id, current_user, opened=True)
    if not reviewing.open_assignment(current_user, assignment):
        return _conflict_found()
    app = assignment.application
    data = stamp(application_pdf(app, current_locale(), blind=app.call.blind_review), _stamp_text(assignment))
    _log_reviewer(assignment, "pdf")
    return download(data, name=f"application-{app.call.code}-{app.number or 0:04d}.pdf", content_type="application/pdf")


@bp.route("/reviews/<int:assignment_id>/attachments/<int:attachment_id>")
@role_required(Role.REVIEWER)
def review_attachment(assignment_id: int, attachment_id: int):
    """An attachment for the reviewer: PDFs stamped; other files as they are. In blind review
    the file name (which may name the organization) is replaced."""
    from ..core.uploads import read
    from .watermark import stamp

    assignment = rules.get_assignment_or_404(assignment_id, current_user, opened=True)
    if not reviewing.open_assignment(current_user, assignment):
        return _conflict_found()
    app = assignment.application
    index, item = next(((i, a) for i, a in enumerate(app.attachments, 1) if a.id == attachment_id), (0, None))
    if item is None:
        abort(404)
    data = read(item.path)
    if item.content_type == "application/pdf":
        try:
            data = stamp(data, _stamp_text(assignment))
        except ValueError:
            return render_template("error.html", status=422,
                                   message=_("This PDF cannot be opened for stamping (it is damaged or encrypted). "
                                             "Ask the programme team for a copy.")), 422  # fmt: skip
    _log_reviewer(assignment, "attachment")
    extension = item.filename.rsplit(".", 1)[-1] if "." in item.filename else "bin"
    name = f"attachment-{index}.{extension}" if app.call.blind_review else item.filename
    return download(data, name=name, content_type=item.content_type)
