"""The messages that tell people what happened to what they are waiting on: a partner's answer,
a submission, an eligibility result, an appeal and its answer, a report's review, a payment.
Each is rendered in the recipient's language (the texts are lazy, translated when rendered),
logged in the outbound log and sent after the commit (`mail.queue`), in the one email layout.
Services call these after their change, inside their own unit of work."""

from __future__ import annotations

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from . import mail
from .core.urls import external_url
from .extensions import db


def _people(query) -> list[tuple[str, str]]:
    return [(email, locale) for email, locale in db.session.execute(query).all()]


def managers() -> list[tuple[str, str]]:
    from .accounts.models import User

    return _people(select(User.email, User.locale).where(User.roles_text.like("%manager%"),
                                                         User.disabled_at.is_(None)).order_by(User.id))  # fmt: skip


def lead_people(consortium) -> list[tuple[str, str]]:
    from .accounts.models import User
    from .consortia.rules import lead_member_query

    return _people(lead_member_query(User.email, User.locale, consortium=consortium).where(User.disabled_at.is_(None)))


def partner_people(consortium) -> list[tuple[str, str]]:
    """Members of the consortium's confirmed partner organizations."""
    from .accounts.models import User
    from .organizations.models import Membership

    partners = [m.organization_id for m in consortium.members if m.role == "partner" and m.confirmed_at]
    if not partners:
        return []
    return _people(select(User.email, User.locale).join(Membership, Membership.user_id == User.id)
                   .where(Membership.organization_id.in_(partners), User.disabled_at.is_(None))
                   .distinct().order_by(User.email))  # fmt: skip


def send(people, kind: str, *, subject, lines, link: str | None = None, about: tuple[str, int]) -> None:
    for email, locale in people:
        message = mail.render("notice", locale, to=email, subject=subject, lines=lines, link=link)
        message.update(to=email, headers={})
        mail.queue(message, kind=kind, about=about, language=locale)


# --- the messages ------------------------------------------------------------------------------


def partner_answered(member, consortium) -> None:
    name = member.organization.name
    if member.confirmed_at:
        subject = _l("A partner confirmed: %(consortium)s", consortium=consortium.name)
        line = _l("Partner organization: %(org)s. It confirmed its participation in the consortium.", org=name)
    else:
        subject = _l("A partner declined: %(consortium)s", consortium=consortium.name)
        line = _l("Partner organization: %(org)s. It declined to take part in the consortium.", org=name)
    send(lead_people(consortium), "partner_answered", subject=subject, lines=[line],
         link=external_url("consortia.show", consortium_id=consortium.id), about=("consortium", consortium.id))  # fmt: skip


def submitted_to_partners(app, submission) -> None:
    send(partner_people(app.consortium), "application_submitted", about=("application", app.id),
         subject=_l("The lead submitted the application: %(number)s", number=submission.receipt_number),
         lines=[_l("Project: %(title)s", title=app.title),
                _l("Receipt number: %(number)s", number=submission.receipt_number)],
         link=external_url("applications.show", app_id=app.id))  # fmt: skip


def eligibility_result(app) -> None:
    from .applications import lifecycle

    eligible = app.status == lifecycle.Status.ELIGIBLE
    lines = [_l("Project: %(title)s", title=app.title)]
    if eligible:
        subject = _l("Your application passed the eligibility check")
        lines.append(_l("It now goes to the independent reviewers."))
    else:
        subject = _l("Your application did not pass the eligibility check")
        lines.append(_l("Reason: %(reason)s", reason=app.eligibility_reason or "—"))
    send(lead_people(app.consortium), "eligibility_result", subject=subject, lines=lines,
         link=external_url("reviews.eligibility_result", app_id=app.id), about=("application", app.id))  # fmt: skip


def appeal_filed(item, app) -> None:
    send(managers(), "appeal_filed", about=("application", app.id),
         subject=_l("A new appeal: %(title)s", title=app.title),
         lines=[_l("Reason given by the applicant: %(reason)s", reason=item.reason)],
         link=external_url("reviews.appeals", call_id=app.call_id))  # fmt: skip


def appeal_answered(item, app) -> None:
    from .reviews.lifecycle import AppealStatus

    outcome = (_l("Your appeal is upheld: the decision is reopened and will be taken again.")
               if item.status == AppealStatus.UPHELD else _l("Your appeal is dismissed."))  # fmt: skip
    send(lead_people(app.consortium), "appeal_answered", about=("application", app.id),
         subject=_l("Answer to your appeal: %(title)s", title=app.title),
         lines=[outcome, _l("Answer: %(answer)s", answer=item.answer)],
         link=external_url("reviews.eligibility_result" if item.decision_version == 0 else "reviews.result",
                           app_id=app.id))  # fmt: skip


def report_submitted(report, award) -> None:
    send(managers(), "report_submitted", about=("award", award.id),
         subject=_l("A report is waiting for review: %(number)s", number=award.agreement_number),
         lines=[_l("Project: %(title)s", title=award.application.title)],
         link=external_url("awards.show", award_id=award.id))  # fmt: skip


def report_reviewed(report, award, approved: bool) -> None:
    if approved:
        subject = _l("Your report is approved: %(number)s", number=award.agreement_number)
        lines = [_l("Project: %(title)s", title=award.application.title)]
    else:
        subject = _l("Your report was returned for changes: %(number)s", number=award.agreement_number)
        lines = [_l("Project: %(title)s", title=award.application.title),
                 _l("What needs to change: %(note)s", note=report.review_note)]  # fmt: skip
    send(lead_people(award.application.consortium), "report_reviewed", subject=subject, lines=lines,
         link=external_url("awards.show", award_id=award.id), about=("award", award.id))  # fmt: skip


def tranche_paid(tranche, award) -> None:
    from .i18n import format_date, format_money

    # dates and amounts written in each recipient's language, when the message is rendered
    day, amount = LazyString(format_date, tranche.paid_on), LazyString(format_money, tranche.amount)
    send(lead_people(award.application.consortium), "tranche_paid", about=("award", award.id),
         subject=_l("Tranche %(n)s is paid: %(number)s", n=tranche.n, number=award.agreement_number),
         lines=[_l("Payment date: %(day)s", day=day), _l("Amount: %(amount)s", amount=amount)],
         link=external_url("awards.show", award_id=award.id))  # fmt: skip
