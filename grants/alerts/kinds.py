"""The kinds of alerts (each a registration: what is due, who receives it, how it reads).
Review due dates, report and tranche dates register here in later issues the same way."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from flask_babel import force_locale, gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from .. import mail
from ..accounts.models import User
from ..applications import lifecycle as app_lifecycle
from ..applications.models import Application
from ..calls import lifecycle
from ..calls import rules as call_rules
from ..calls.models import Call
from ..consortia.models import Consortium, ConsortiumMember
from ..consortia.rules import lead_member_query
from ..core.urls import external_url
from ..extensions import db
from ..organizations.models import Membership
from ..subscriptions.models import Subscription
from .models import Notification
from .registry import AlertKind, DueObject, register, unclaimed_prefix_filter

UNSUBMITTED = app_lifecycle.EDITABLE  # drafts and withdrawn applications: not in the competition yet


def open_calls(now: datetime) -> list[DueObject]:
    """Published calls whose first alert time has come and whose deadline has not."""
    calls = db.session.execute(
        select(Call).where(
            Call.status == lifecycle.Status.PUBLISHED, Call.closes_at > now, Call.closes_at <= now + timedelta(days=366)
        )
    ).scalars()
    out = []
    for call in calls:
        offsets = tuple(int(d) for d in (call.alert_offsets_days or []))
        if offsets and call.closes_at - timedelta(days=max(offsets)) <= now:
            out.append(DueObject("call", call.id, call.closes_at, offsets))
    return out


def _call_for(note: Notification) -> Call | None:
    """The call, if the alert still applies: still published and its deadline unchanged."""
    call = db.session.get(Call, note.object_id)
    if call is None or not call_rules.can_apply(None, call) or note.due_at is None or call.closes_at != note.due_at:
        return None
    return call


def _days_left(call: Call, note: Notification) -> int:
    return max(1, math.ceil((call.closes_at - note.claimed_at).total_seconds() / 86400))


def _ics(call: Call, language: str) -> list[dict]:
    from ..calls.feeds import ics

    with force_locale(language):
        data = ics([call])
    return [{"filename": f"{call.code}.ics", "content_type": "text/calendar", "data": data}]


def _when(moment: datetime) -> str:
    """A deadline in few characters, for Telegram and SMS: 31.03.2027, 18:00, Astana time (UTC+5)."""
    from flask_babel import gettext

    from ..i18n import as_utc, display_zone, utc_offset

    local = as_utc(moment).astimezone(display_zone())
    return gettext("%(date)s, %(time)s Astana time (%(offset)s)", date=f"{local:%d.%m.%Y}", time=f"{local:%H:%M}",
                   offset=utc_offset(moment))  # fmt: skip


def _short(note: Notification, link: str, message, **values) -> dict:
    """A short text (Telegram, SMS) in the recipient's language; `message` is a lazy msgid."""
    with force_locale(note.language):
        return {"text": str(message) % values, "link": link}


# --- subscribers -------------------------------------------------------------------------


def _subscribers(obj: DueObject, prefix: str) -> dict[str, str]:
    from ..subscriptions.services import matching_query

    call = db.session.get(Call, obj.object_id)
    query = matching_query(call).where(unclaimed_prefix_filter(Subscription.email, prefix))
    return dict(db.session.execute(query.with_only_columns(Subscription.email, Subscription.language)).all())


def _render_subscriber(note: Notification) -> dict | None:
    from ..subscriptions.services import unsubscribe_headers, unsubscribe_url

    call = _call_for(note)
    sub = db.session.execute(select(Subscription).filter_by(email=note.recipient)).scalar_one_or_none()
    if call is None or sub is None or not sub.active:
        return None  # unsubscribed (or deleted) between the scan and the send
    message = mail.render("call_deadline", note.language, to=note.recipient, call=call, days=_days_left(call, note),
                          link=external_url("calls.show", call_id=call.id), unsubscribe=unsubscribe_url(sub))  # fmt: skip
    return message | {
        "to": note.recipient,
        "headers": unsubscribe_headers(sub),
        "attachments": _ics(call, note.language),
    }


def _short_subscriber(note: Notification) -> dict | None:
    call = _call_for(note)
    sub = db.session.execute(select(Subscription).filter_by(email=note.recipient)).scalar_one_or_none()
    if call is None or sub is None or not sub.active:
        return None
    with force_locale(note.language):
        when = _when(call.closes_at)
    return _short(note, external_url("calls.show", call_id=call.id),
                  _l("%(code)s: applications are accepted until %(when)s."), code=call.code, when=when)  # fmt: skip


register(AlertKind("deadline", open_calls, _subscribers, _render_subscriber, "subscribers before a call's deadline",
                   _short_subscriber))  # fmt: skip


# --- owners of unsubmitted drafts ---------------------------------------------------------


def _draft_owners(obj: DueObject, prefix: str) -> dict[str, str]:
    rows = db.session.execute(
        lead_member_query(User.email, User.locale).distinct()
        .join(Application, Application.consortium_id == Consortium.id)
        .where(Application.call_id == obj.object_id, Application.status.in_(UNSUBMITTED),
               User.disabled_at.is_(None), unclaimed_prefix_filter(User.email, prefix))
    ).all()  # fmt: skip
    return dict(rows)


def _drafts_of(email: str, call_id: int) -> list[Application]:
    ids = (
        lead_member_query(Application.id)
        .join(Application, Application.consortium_id == Consortium.id)
        .where(User.email == email, Application.call_id == call_id, Application.status.in_(UNSUBMITTED))
    )
    return list(
        db.session.execute(select(Application).where(Application.id.in_(ids)).order_by(Application.id)).scalars()
    )


def _render_draft_owner(note: Notification) -> dict | None:
    call = _call_for(note)
    drafts = _drafts_of(note.recipient, note.object_id) if call else []
    if not drafts:
        return None  # submitted meanwhile: nothing to remind
    links = [(a.title, external_url("applications.check", app_id=a.id)) for a in drafts]
    message = mail.render(
        "draft_deadline", note.language, to=note.recipient, call=call, days=_days_left(call, note), drafts=links
    )
    return message | {"to": note.recipient, "attachments": _ics(call, note.language)}


def _short_draft_owner(note: Notification) -> dict | None:
    call = _call_for(note)
    drafts = _drafts_of(note.recipient, note.object_id) if call else []
    if not drafts:
        return None
    link = external_url("applications.check", app_id=drafts[0].id) if len(drafts) == 1 else external_url(
        "applications.mine")  # fmt: skip
    with force_locale(note.language):
        when = _when(call.closes_at)
    return _short(note, link, _l("%(code)s: your application is still a draft. Submit it by %(when)s."),
                  code=call.code, when=when)  # fmt: skip


register(AlertKind("draft_deadline", open_calls, _draft_owners, _render_draft_owner, "owners of unsubmitted drafts",
                   _short_draft_owner))  # fmt: skip


# --- partners who have not confirmed -------------------------------------------------------


def _waiting_partners_query(call_id: int, email: str | None = None):
    """(email, locale, consortium id) of partners who have not confirmed, in the call's
    unsubmitted applications; of the one person `email` when given (a notification's recipient)."""
    query = (
        select(User.email, User.locale, ConsortiumMember.consortium_id)
        .join(Membership, Membership.user_id == User.id)
        .join(ConsortiumMember, ConsortiumMember.organization_id == Membership.organization_id)
        .join(Application, Application.consortium_id == ConsortiumMember.consortium_id)
        .where(Application.call_id == call_id, Application.status.in_(UNSUBMITTED), ConsortiumMember.role == "partner",
               ConsortiumMember.confirmed_at.is_(None), ConsortiumMember.declined_at.is_(None),
               User.disabled_at.is_(None))
    )  # fmt: skip
    return query if email is None else query.where(User.email == email)


def _partners(obj: DueObject, prefix: str) -> dict[str, str]:
    query = _waiting_partners_query(obj.object_id).where(unclaimed_prefix_filter(User.email, prefix))
    return {email: locale for email, locale, _consortium in db.session.execute(query).all()}


def _render_partner(note: Notification) -> dict | None:
    call = _call_for(note)
    if call is None:
        return None
    consortium_ids = {cid for _e, _l, cid in db.session.execute(_waiting_partners_query(call.id, note.recipient))}
    if not consortium_ids:
        return None  # confirmed or declined meanwhile
    consortia = db.session.execute(select(Consortium).where(Consortium.id.in_(consortium_ids))).scalars().all()
    links = [(c.name, external_url("consortia.show", consortium_id=c.id)) for c in consortia]
    message = mail.render(
        "partner_confirm", note.language, to=note.recipient, call=call, days=_days_left(call, note), consortia=links
    )
    return message | {"to": note.recipient}


def _short_partner(note: Notification) -> dict | None:
    call = _call_for(note)
    if call is None:
        return None
    query = _waiting_partners_query(call.id, note.recipient)
    consortium_ids = sorted({cid for _e, _l, cid in db.session.execute(query)})
    if not consortium_ids:
        return None
    with force_locale(note.language):
        when = _when(call.closes_at)
    return _short(note, external_url("consortia.show", consortium_id=consortium_ids[0]),
                  _l("%(code)s: please confirm your organization's part in the consortium by %(when)s."),
                  code=call.code, when=when)  # fmt: skip


register(AlertKind("partner_confirm", open_calls, _partners, _render_partner, "partners who have not confirmed",
                   _short_partner))  # fmt: skip


# --- the announcement of a new call (sent on publication, not scanned) ----------------------


def _render_announcement(note: Notification) -> dict | None:
    from ..subscriptions.services import unsubscribe_headers, unsubscribe_url

    call = db.session.get(Call, note.object_id)
    sub = db.session.execute(select(Subscription).filter_by(email=note.recipient)).scalar_one_or_none()
    if call is None or not call_rules.can_see(None, call) or sub is None or not sub.active:
        return None
    message = mail.render("call_announcement", note.language, to=note.recipient, call=call, link=external_url("calls.show", call_id=call.id),
                          unsubscribe=unsubscribe_url(sub))  # fmt: skip
    return message | {"to": note.recipient, "headers": unsubscribe_headers(sub)}


def _short_announcement(note: Notification) -> dict | None:
    call = db.session.get(Call, note.object_id)
    sub = db.session.execute(select(Subscription).filter_by(email=note.recipient)).scalar_one_or_none()
    if call is None or not call_rules.can_see(None, call) or sub is None or not sub.active:
        return None
    with force_locale(note.language):
        when = _when(call.closes_at)
    return _short(note, external_url("calls.show", call_id=call.id),
                  _l("New call for proposals %(code)s. Applications until %(when)s."), code=call.code, when=when)  # fmt: skip


register(AlertKind("announcement", lambda now: [], lambda obj, prefix: {}, _render_announcement, "a new call",
                   _short_announcement))  # fmt: skip


# --- reviewers before their review due date -------------------------------------------------


def _open_assignments(now: datetime) -> list[DueObject]:
    from ..reviews.lifecycle import OPEN
    from ..reviews.models import Assignment

    rows = db.session.execute(
        select(Assignment.id, Assignment.due_at).where(
            Assignment.status.in_(OPEN), Assignment.due_at > now,
            Assignment.due_at <= now + timedelta(days=3),
        )
    ).all()  # fmt: skip
    return [DueObject("assignment", assignment_id, due_at, (3, 1)) for assignment_id, due_at in rows]


def _assigned_reviewer(obj: DueObject, prefix: str) -> dict[str, str]:
    from ..reviews.models import Assignment

    query = (
        select(User.email, User.locale).join(Assignment, Assignment.reviewer_id == User.id)
        .where(Assignment.id == obj.object_id, User.disabled_at.is_(None), unclaimed_prefix_filter(User.email, prefix))
    )  # fmt: skip
    return dict(db.session.execute(query).all())


def _render_review_due(note: Notification) -> dict | None:
    from ..reviews.lifecycle import is_open
    from ..reviews.models import Assignment

    assignment = db.session.get(Assignment, note.object_id)
    if assignment is None or not is_open(assignment) or assignment.due_at != note.due_at:
        return None  # submitted, returned or rescheduled meanwhile
    days = max(1, math.ceil((assignment.due_at - note.claimed_at).total_seconds() / 86400))
    message = mail.render("review_due", note.language, to=note.recipient, assignment=assignment, days=days,
                          link=external_url("reviews.review", assignment_id=assignment.id))  # fmt: skip
    return message | {"to": note.recipient}


def _short_review_due(note: Notification) -> dict | None:
    from ..reviews.lifecycle import is_open
    from ..reviews.models import Assignment

    assignment = db.session.get(Assignment, note.object_id)
    if assignment is None or not is_open(assignment) or assignment.due_at != note.due_at:
        return None
    with force_locale(note.language):
        when = _when(assignment.due_at)
    return _short(note, external_url("reviews.review", assignment_id=assignment.id),
                  _l("%(code)s: your review is due %(when)s."), code=assignment.application.call.code, when=when)  # fmt: skip


register(AlertKind("review_due", _open_assignments, _assigned_reviewer, _render_review_due,
                   "reviewers before the due date", _short_review_due))  # fmt: skip


# --- grantees: reports and tranches (14 and 3 days before, and once when overdue) ------------

OVERDUE_SHIFT = timedelta(days=3650)  # an "overdue" alert is due once, from the due date on


def _end_of(day) -> datetime:
    from datetime import time

    from ..i18n import zone

    return datetime.combine(day, time(23, 59), tzinfo=zone()).astimezone(UTC)


def _award_dates(now: datetime, *, overdue: bool) -> list[DueObject]:
    from ..awards.lifecycle import AWARD_OPEN, REPORT_EDITABLE, TRANCHE_OVERDUE, TRANCHE_UNPAID
    from ..awards.models import Award, Report, Tranche

    out = []
    tranche_statuses = TRANCHE_OVERDUE if overdue else TRANCHE_UNPAID  # the award page's one definition
    horizon = (now - timedelta(days=400)).date() if overdue else now.date()
    reports = db.session.execute(select(Report.id, Report.due_on).join(Award, Award.id == Report.award_id).where(
        Report.status.in_(REPORT_EDITABLE), Report.due_on >= horizon, Report.due_on <= (now + timedelta(days=15)).date(),
        Award.status.in_(AWARD_OPEN))).all()  # fmt: skip
    tranches = db.session.execute(select(Tranche.id, Tranche.due_on).join(Award, Award.id == Tranche.award_id).where(
        Tranche.status.in_(tranche_statuses), Tranche.due_on >= horizon, Tranche.due_on <= (now + timedelta(days=15)).date(),
        Award.status.in_(AWARD_OPEN))).all()  # fmt: skip
    for kind, rows in (("award_report", reports), ("tranche", tranches)):
        for object_id, due_on in rows:
            due = _end_of(due_on)
            if overdue and due <= now:
                out.append(DueObject(kind, object_id, due + OVERDUE_SHIFT, (3650,)))
            elif not overdue and due > now:
                out.append(DueObject(kind, object_id, due, (14, 3)))
    return out


def _award_of(obj_type: str, obj_id: int):
    from ..awards.models import Award, Report, Tranche

    item = db.session.get(Report if obj_type == "award_report" else Tranche, obj_id)
    return item, (db.session.get(Award, item.award_id) if item else None)


def _grantees(obj: DueObject, prefix: str) -> dict[str, str]:
    """A report is due from the grantee; a tranche is due from the programme: its managers pay it."""
    _item, award = _award_of(obj.object_type, obj.object_id)
    if award is None:
        return {}
    if obj.object_type == "award_report":
        query = lead_member_query(User.email, User.locale, consortium=award.application.consortium).where(
            User.disabled_at.is_(None)
        )
    else:
        query = select(User.email, User.locale).where(User.roles_text.like("%manager%"), User.disabled_at.is_(None))
    return dict(db.session.execute(query.where(unclaimed_prefix_filter(User.email, prefix))).all())


def _render_grantee(note: Notification) -> dict | None:
    from ..awards.lifecycle import REPORT_IN, TRANCHE_UNPAID

    item, award = _award_of(note.object_type, note.object_id)
    if award is None:
        return None
    done = item.status in REPORT_IN if note.object_type == "award_report" else item.status not in TRANCHE_UNPAID
    if done:
        return None
    overdue = note.offset_days == 3650
    message = mail.render("award_due", note.language, to=note.recipient, award=award, item=item, kind=note.object_type, overdue=overdue,
                          link=external_url("awards.show", award_id=award.id))  # fmt: skip
    return message | {"to": note.recipient}


def _short_grantee(note: Notification) -> dict | None:
    from ..awards.lifecycle import REPORT_IN, TRANCHE_UNPAID

    item, award = _award_of(note.object_type, note.object_id)
    if award is None:
        return None
    done = item.status in REPORT_IN if note.object_type == "award_report" else item.status not in TRANCHE_UNPAID
    if done:
        return None
    with force_locale(note.language):
        if note.object_type == "award_report":
            what = gettext("Interim report") if item.kind == "interim" else gettext("Final report")
        else:
            what = gettext("Tranche %(n)d", n=item.n)
    day = f"{item.due_on:%d.%m.%Y}"
    message = (_l("%(number)s: %(item)s is overdue (due %(day)s).") if note.offset_days == 3650
               else _l("%(number)s: %(item)s, due %(day)s."))  # fmt: skip
    return _short(note, external_url("awards.show", award_id=award.id), message, number=award.agreement_number,
                  item=what, day=day)  # fmt: skip


register(AlertKind("award_due", lambda now: _award_dates(now, overdue=False), _grantees, _render_grantee,
                   "grantees 14 and 3 days before a report or tranche", _short_grantee))  # fmt: skip
register(AlertKind("award_overdue", lambda now: _award_dates(now, overdue=True), _grantees, _render_grantee,
                   "grantees once when a report or tranche is overdue", _short_grantee))  # fmt: skip


# --- an answer to a question about a call (sent when a manager answers, not scanned) ---------


def _render_call_answer(note: Notification) -> dict | None:
    from ..questions.notify import render

    return render(note)


def _short_call_answer(note: Notification) -> dict | None:
    from ..questions.notify import short

    return short(note)


register(AlertKind("call_answer", lambda now: [], lambda obj, prefix: {}, _render_call_answer,
                   _l("Answers to questions about a call"), _short_call_answer))  # fmt: skip
