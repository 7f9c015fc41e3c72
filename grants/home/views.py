from __future__ import annotations

import math

from flask import Blueprint, g, render_template
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from ..accounts.models import Role
from ..core import clock
from ..i18n import as_utc
from . import services

bp = Blueprint("home", __name__)


def _applicant_menus() -> bool:
    """Whether the header shows the applicant's menus (asked once per request, and only for people
    with another role: a pure applicant always sees them, with no query)."""
    if not getattr(current_user, "is_authenticated", False):
        return False
    if "applicant_menus" not in g:
        g.applicant_menus = services.is_applicant(current_user)
    return g.applicant_menus


def days_left(moment) -> str:
    """'3 days left' / 'overdue by 2 days' for a deadline or due date (datetime or date)."""
    from datetime import date, datetime

    if isinstance(moment, datetime):
        seconds = (as_utc(moment) - clock.now()).total_seconds()
        days = math.ceil(seconds / 86400) if seconds > 0 else -math.floor(-seconds / 86400)
    elif isinstance(moment, date):
        from ..awards.services import today

        days = (moment - today()).days
        if days == 0:
            return _("due today")
        seconds = days * 86400
    else:
        return ""
    if seconds < 0:
        late = max(1, -days)
        return ngettext("overdue by %(num)d day", "overdue by %(num)d days", late)
    if isinstance(moment, datetime) and seconds < 86400:
        hours = max(1, math.ceil(seconds / 3600))
        return ngettext("%(num)d hour left", "%(num)d hours left", hours)
    return ngettext("%(num)d day left", "%(num)d days left", max(days, 0))


@bp.app_context_processor
def _helpers():
    return {"shows_applicant_menus": _applicant_menus, "days_left": days_left}


@bp.route("/home")
@login_required
def home():
    user = current_user
    now = clock.now()
    applicant = services.is_applicant(user)
    g.applicant_menus = applicant
    return render_template(
        "home/home.html",
        applicant=services.applicant_home(user, now) if applicant else None,
        reviewer=services.reviewer_home(user, now) if user.has_role(Role.REVIEWER) else None,
        manager=services.manager_home(now) if user.is_manager else None,
    )
