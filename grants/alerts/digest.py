"""The daily digest: one email a day to each manager and reviewer with something waiting for
them (the same counts as their home page), none when nothing waits. It is an alert kind like
the others, so the exactly-once claim, catch-up after downtime and retries are the engine's:
the object is the day (Asia/Almaty), its window opens at 08:00 local time."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from .. import mail
from ..core.urls import external_url
from ..extensions import db
from .models import Notification
from .registry import AlertKind, DueObject, register, unclaimed_prefix_filter

SEND_AT = time(8, 0)


def _today(now: datetime):
    from ..i18n import zone

    return now.astimezone(zone()).date()


def _days(now: datetime) -> list[DueObject]:
    """Today's digest, from 08:00 local time until 08:00 the next day."""
    from ..i18n import zone

    day = _today(now)
    opens = datetime.combine(day, SEND_AT, tzinfo=zone()).astimezone(UTC)
    if now < opens:
        day, opens = day - timedelta(days=1), opens - timedelta(days=1)
    return [DueObject("day", day.toordinal(), opens + timedelta(days=1), (1,))]


def _manager_lines(now: datetime) -> list:
    """What waits for the managers (the same for each of them), as lazy lines."""
    from ..home import services as home

    work = home.manager_home(now)
    calls = [w for stage in work.stages.values() for w in stage]
    texts = {
        "to_screen": _l("Applications to screen for eligibility: %(n)d"),
        "reviews_overdue": _l("Reviews past their due date: %(n)d"),
        "to_decide": _l("Applications waiting for a decision: %(n)d"),
        "appeals": _l("Appeals waiting for an answer: %(n)d"),
        "reports_waiting": _l("Reports waiting for review: %(n)d"),
        "reports_overdue": _l("Reports past their due date: %(n)d"),
        "tranches_payable": _l("Tranches that may be paid: %(n)d"),
        "tranches_overdue": _l("Tranches past their date: %(n)d"),
    }
    lines = [_l_n(text, count) for name, text in texts.items() if (count := sum(getattr(w, name) for w in calls))]
    if work.to_verify:
        lines.append(_l_n(_l("Organizations waiting for verification: %(n)d"), work.to_verify))
    return lines


def _waiting_lines(user, now: datetime) -> list:
    """What waits for this person today, as lines in the reader's language (lazy)."""
    from ..home import services as home

    lines = _manager_lines(now) if user.is_manager else []
    if user.has_role("reviewer"):
        mine = home.reviewer_home(user, now)
        if mine.to_declare:
            lines.append(_l_n(_l("Applications to declare conflicts of interest for: %(n)d"), len(mine.to_declare)))
        if mine.in_progress:
            lines.append(_l_n(_l("Reviews to finish: %(n)d"), len(mine.in_progress)))
        if mine.overdue:
            lines.append(_l_n(_l("Of them past their due date: %(n)d"), mine.overdue))
    return lines


class _l_n:  # noqa: N801  (a lazy line: the text translated when the email is rendered)
    def __init__(self, text, n: int):
        self.text, self.n = text, n

    def __str__(self) -> str:
        return str(self.text) % {"n": self.n}

    def __html__(self) -> str:
        from markupsafe import escape

        return str(escape(str(self)))


def _people(obj: DueObject, prefix: str) -> dict[str, str]:
    """Managers (when anything waits for managers) and reviewers with open reviews, not yet
    claimed today: three queries, whatever the number of people."""
    from ..accounts.models import User
    from ..core import clock
    from ..reviews.lifecycle import OPEN
    from ..reviews.models import Assignment

    now = clock.now()
    unclaimed = (User.disabled_at.is_(None), unclaimed_prefix_filter(User.email, prefix))
    managers = select(User.email, User.locale).where(User.roles_text.like("%manager%"), *unclaimed)
    out = {}
    if _manager_lines(now):
        out |= dict(db.session.execute(managers).all())
    busy = select(Assignment.reviewer_id).where(Assignment.status.in_(tuple(sorted(OPEN))))
    reviewers = select(User.email, User.locale).where(User.roles_text.like("%reviewer%"), User.id.in_(busy), *unclaimed)
    return out | dict(db.session.execute(reviewers).all())


def _render(note: Notification) -> dict | None:
    from ..accounts.models import User
    from ..core import clock

    user = db.session.execute(select(User).where(User.email == note.recipient)).scalar_one_or_none()
    if user is None:
        return None
    lines = _waiting_lines(user, clock.now())
    if not lines:
        return None  # nothing waits any more: no email
    message = mail.render("notice", note.language, to=note.recipient, subject=_l("What waits for you today"),
                          lines=lines, link=external_url("home.home"))  # fmt: skip
    return message | {"to": note.recipient}


register(AlertKind("digest", _days, _people, _render, "managers and reviewers: what waits for them, daily"))
