"""Forming consortia: the lead invites partners, each partner's member confirms or declines."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from .. import mail, notices
from ..accounts.models import User
from ..audit.services import record
from ..core import clock
from ..core.db import lock, transactional
from ..core.errors import Conflict, Forbidden, ValidationFailed
from ..core.inputs import MAX_ID
from ..core.urls import external_url
from ..extensions import db
from ..organizations.models import Membership, Organization
from ..organizations.services import RateLimited
from .models import Consortium, ConsortiumMember
from .rules import can_decline, user_org_ids

MAX_PARTNERS = 20


def _id(value) -> int | None:
    """A database id, or None (a bool, a float, text or a number out of the id range is no id)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    try:
        number = int(value)
    except ValueError:
        return None
    return number if 1 <= number <= MAX_ID else None


def _ids(values) -> list[int]:
    if not isinstance(values, list | tuple):
        raise ValidationFailed(_("Please correct the marked fields."),
                               fields={"partner_organization_ids": [_("Must be a list.")]})  # fmt: skip
    out = []
    for value in values:
        number = _id(value)
        if number is None:
            raise ValidationFailed(_("Please correct the marked fields."),
                                   fields={"partner_organization_ids": [_("Not a valid choice.")]})  # fmt: skip
        out.append(number)
    return out


CONSORTIA_PER_DAY = 10  # each one emails the partners' owners


def _check_daily_cap(actor, now) -> None:
    from datetime import timedelta

    from sqlalchemy import func

    db.session.execute(select(User.id).where(User.id == actor.id).with_for_update())  # one at a time per person
    made = db.session.execute(
        select(func.count(Consortium.id)).where(Consortium.created_by_id == actor.id,
                                                Consortium.created_at > now - timedelta(days=1))
    ).scalar()  # fmt: skip
    if made >= CONSORTIA_PER_DAY:
        raise RateLimited(_("You have formed as many consortia as you may in one day. Please try again tomorrow."))


@transactional
def create(actor, *, name: str, lead_organization_id, partner_organization_ids) -> Consortium:
    """A consortium led by one of the actor's organizations; partners are asked to confirm.
    At most CONSORTIA_PER_DAY a day per person, as each one emails other organizations' owners."""
    errors: dict[str, list[str]] = {}
    name = (name if isinstance(name, str) else "").strip()
    if not name:
        errors["name"] = [_("Please give the consortium a name.")]
    elif len(name) > 300:
        errors["name"] = [_("Too long: at most %(n)d characters.", n=300)]
    lead_id = _id(lead_organization_id)
    partner_ids = list(dict.fromkeys(_ids(partner_organization_ids or [])))
    if len(partner_ids) > MAX_PARTNERS:  # each partner's owners are emailed: the page and the API alike
        raise ValidationFailed(_("A consortium can have at most %(n)d partners.", n=MAX_PARTNERS),
                               fields={"partner_organization_ids": [_("Too many partners.")]})  # fmt: skip
    lead = db.session.get(Organization, lead_id) if lead_id else None
    if lead is None or lead.id not in user_org_ids(actor):
        errors["lead_organization_id"] = [_("Choose one of your organizations as the lead.")]
    elif lead.legal_form == "initiative_group":
        errors["lead_organization_id"] = [_("An initiative group can be a partner, but not the lead organization.")]
    if lead_id in partner_ids:
        errors["partner_organization_ids"] = [_("The lead organization cannot also be a partner.")]
    partners = list(db.session.execute(select(Organization).where(Organization.id.in_(partner_ids))).scalars())
    if len(partners) != len(partner_ids):
        errors["partner_organization_ids"] = [_("Some of the chosen organizations do not exist.")]
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), fields=errors)
    now = clock.now()
    _check_daily_cap(actor, now)
    consortium = Consortium(name=name, lead_organization_id=lead.id, created_by_id=actor.id, created_at=now)
    consortium.members = [
        ConsortiumMember(organization_id=lead.id, role="lead", confirmed_at=now, responded_by_id=actor.id)
    ]
    consortium.members += [ConsortiumMember(organization_id=p.id, role="partner") for p in partners]
    db.session.add(consortium)
    db.session.flush()
    record(actor, "consortium.created", "consortium", consortium.id,
           after={"name": consortium.name, "lead": lead.id, "partners": partner_ids})  # fmt: skip
    _ask_partners(consortium, lead, partners)
    return consortium


def _ask_partners(consortium: Consortium, lead: Organization, partners: list[Organization]) -> None:
    if not partners:
        return
    rows = db.session.execute(
        select(User.email, User.locale, Membership.organization_id)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.organization_id.in_([p.id for p in partners]), Membership.role == "owner")
    ).all()
    link = external_url("consortia.show", consortium_id=consortium.id)
    names = {p.id: p.name for p in partners}
    for email, locale, org_id in rows:
        mail.send(email, "consortium_invitation", locale, consortium=consortium, lead=lead,
                  partner_name=names[org_id], link=link)  # fmt: skip


def _lock_applications(consortium: Consortium) -> None:
    from ..applications.models import Application

    db.session.execute(select(Application.id).where(Application.consortium_id == consortium.id).with_for_update())


@transactional
def respond(actor, consortium: Consortium, *, organization_id, accept: bool) -> ConsortiumMember:
    """A member (owner or editor) of a partner organization confirms or declines."""
    org_id = _id(organization_id)
    member = next((m for m in consortium.members if m.organization_id == org_id), None)
    if member is None or member.role != "partner":
        raise ValidationFailed(_("This organization is not a partner of the consortium."),
                               fields={"organization_id": [_("Not a valid choice.")]})  # fmt: skip
    if org_id not in user_org_ids(actor):
        raise Forbidden(_("Only a member of %(name)s can answer for it.", name=member.organization.name))
    lock(member)  # two answers at once: the second sees the first
    if member.confirmed_at and accept:
        raise Conflict(_("This participation is already confirmed."), code="already_confirmed")
    if not accept:
        _lock_applications(consortium)  # a submission in flight is seen here, or waits for this answer
        if not can_decline(consortium):
            raise Conflict(_("The consortium has a submitted application, so its partners can no longer decline. "
                             "The lead organization can withdraw the application before the deadline."),
                           code="application_submitted")  # fmt: skip
    now = clock.now()
    member.confirmed_at, member.declined_at = (now, None) if accept else (None, now)
    member.responded_by_id = actor.id
    record(actor, "consortium.confirmed" if accept else "consortium.declined", "consortium", consortium.id,
           after={"organization_id": org_id})  # fmt: skip
    notices.partner_answered(member, consortium)  # the lead learns it can (or cannot yet) submit
    return member


def consortia_of(user) -> list[Consortium]:
    orgs = user_org_ids(user)
    if not orgs:
        return []
    ids = select(ConsortiumMember.consortium_id).where(ConsortiumMember.organization_id.in_(orgs))
    return list(
        db.session.execute(select(Consortium).where(Consortium.id.in_(ids)).order_by(Consortium.id.desc())).scalars()
    )


def waiting_for(user) -> list[ConsortiumMember]:
    """Partner seats the user can confirm or decline."""
    orgs = user_org_ids(user)
    if not orgs:
        return []
    return list(
        db.session.execute(
            select(ConsortiumMember).where(
                ConsortiumMember.organization_id.in_(orgs), ConsortiumMember.role == "partner",
                ConsortiumMember.confirmed_at.is_(None), ConsortiumMember.declined_at.is_(None),
            )
        ).scalars()
    )  # fmt: skip
