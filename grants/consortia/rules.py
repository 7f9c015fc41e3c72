"""Who may see and act for a consortium: the one place for these rules."""

from __future__ import annotations

from flask import abort
from sqlalchemy import select

from ..extensions import db
from ..organizations.models import Membership
from .models import Consortium


def user_org_ids(user) -> set[int]:
    if not getattr(user, "is_authenticated", False):
        return set()
    return set(db.session.execute(select(Membership.organization_id).filter_by(user_id=user.id)).scalars())


def can_view(user, consortium: Consortium, orgs: set[int] | None = None) -> bool:
    orgs = user_org_ids(user) if orgs is None else orgs
    return bool(orgs & set(consortium.member_ids())) or bool(
        getattr(user, "is_authenticated", False) and user.is_manager
    )


def acts_for_lead(user, consortium: Consortium, orgs: set[int] | None = None) -> bool:
    """THE rule "acts for the lead": the user is a member (any role) of the consortium's lead
    organization. Starting, submitting and withdrawing an application, answering for it (appeals,
    clarifications) and the grantee's side of an award all ask this one predicate.
    `orgs` (the user's organization ids) may be passed when already known."""
    if consortium is None:
        return False
    orgs = user_org_ids(user) if orgs is None else orgs
    return consortium.lead_organization_id in orgs


def can_respond(user, consortium: Consortium, orgs: set[int] | None = None) -> bool:
    """A member of one of the partner organizations: may confirm or decline for it."""
    orgs = user_org_ids(user) if orgs is None else orgs
    return any(m.role == "partner" and m.organization_id in orgs for m in consortium.members)


def can_decline(consortium: Consortium) -> bool:
    """A partner may decline only while no application of the consortium is submitted (or further
    on): a submitted application went in with every partner's confirmation, and a partner that
    leaves it then would leave a frozen application naming it. Withdrawn ones can be changed."""
    from ..applications import lifecycle
    from ..applications.models import Application

    submitted = db.session.execute(
        select(Application.id).where(Application.consortium_id == consortium.id,
                                     Application.status.in_(tuple(sorted(lifecycle.SUBMITTED)))).limit(1)
    ).first()  # fmt: skip
    return submitted is None


def can_see_organization(user, org, orgs: set[int] | None = None) -> bool:
    """An organization's name and region are shown to those who may find it anyway: it is in the
    public directory, the user is one of its members, or the user is a programme manager."""
    if org.public_profile:
        return True
    orgs = user_org_ids(user) if orgs is None else orgs
    return org.id in orgs or bool(getattr(user, "is_authenticated", False) and user.is_manager)


def can_see_member(user, member, orgs: set[int] | None = None) -> bool:
    """A consortium member's name: as can_see_organization, or once the organization has confirmed
    (by confirming it agrees to be named with the consortium). A partner listed by its BIN that has
    not answered is shown by its BIN only, so listing ids cannot reveal private organizations."""
    return member.role == "lead" or member.confirmed or can_see_organization(user, member.organization, orgs)


def lead_member_query(*columns, consortium: Consortium | None = None):
    """acts_for_lead in SQL: SELECT `columns` (default: the User) of every person who acts for the
    lead of a consortium. `User`, `Membership` (the lead membership) and `Consortium` are in the FROM
    clause, so a caller may join on `Consortium.id` (e.g. `Application.consortium_id`), filter,
    order or add `.distinct()`; with `consortium`, only that consortium's lead members."""
    from ..accounts.models import User

    query = (
        select(*(columns or (User,))).select_from(User)
        .join(Membership, Membership.user_id == User.id)
        .join(Consortium, Consortium.lead_organization_id == Membership.organization_id)
    )  # fmt: skip
    return query if consortium is None else query.where(Consortium.id == consortium.id)


def lead_members(consortium: Consortium) -> list:
    """The people who act for the lead (see acts_for_lead): who receives what is addressed to it."""
    from ..accounts.models import User

    return list(db.session.execute(lead_member_query(consortium=consortium).order_by(User.id)).scalars())


def get_consortium_or_404(consortium_id: int, user, action: str = "view") -> Consortium:
    consortium = db.session.get(Consortium, consortium_id)
    if consortium is None:
        abort(404)
    orgs = user_org_ids(user)
    allowed = can_view(user, consortium, orgs) if action == "view" else acts_for_lead(user, consortium, orgs)
    if not allowed:
        abort(404)
    return consortium
