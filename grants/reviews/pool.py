"""The reviewer pool: invitations, the reviewer's profile (affiliations, declared conflicts,
regions) and the organizations each reviewer must never review."""

from __future__ import annotations

from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import select, union_all

from .. import mail
from ..accounts.models import Role, User
from ..audit.services import record
from ..core import clock
from ..core.db import transactional
from ..core.errors import Conflict, ServiceError, ValidationFailed
from ..core.urls import external_url
from ..extensions import db
from ..organizations.models import Membership, Organization
from ..security import new_token, token_hash
from .models import ReviewerAffiliation, ReviewerConflict, ReviewerInvitation, ReviewerProfile


@transactional
def invite_reviewer(actor, email: str) -> ReviewerInvitation:
    from ..accounts.services import check_email

    email = check_email(email)
    token, hashed = new_token()
    invitation = ReviewerInvitation(email=email, token_hash=hashed, invited_by_id=actor.id,
                                    expires_at=clock.now() + timedelta(days=30))  # fmt: skip
    db.session.add(invitation)
    db.session.flush()
    user = db.session.execute(select(User).filter_by(email=email)).scalar_one_or_none()
    mail.send(email, "reviewer_invitation", user.locale if user else actor.locale, inviter=actor,
              link=external_url("reviews.accept_invitation", token=token))  # fmt: skip
    record(actor, "reviewer.invited", "reviewer_invitation", invitation.id, after={"email": email})
    return invitation


@transactional
def accept_invitation(user, token: str) -> None:
    invitation = db.session.execute(
        select(ReviewerInvitation).filter_by(token_hash=token_hash(token or "")).with_for_update()
    ).scalar_one_or_none()
    if invitation is None or invitation.expires_at < clock.now():
        raise ServiceError(_("This link is not valid or has expired. Please ask for a new one."), code="invalid_token")
    if invitation.accepted_at is not None:
        raise Conflict(_("This link has already been used."), code="token_used")
    if invitation.email != user.email:
        raise ServiceError(_("This invitation was sent to %(email)s. Log in with that address to accept it.",
                             email=invitation.email), code="wrong_account")  # fmt: skip
    invitation.accepted_at = clock.now()
    user.roles = set(user.roles) | {Role.REVIEWER}
    if db.session.get(ReviewerProfile, user.id) is None:
        db.session.add(ReviewerProfile(user_id=user.id, regions=[]))
    record(user, "reviewer.joined", "user", user.id)


@transactional
def set_profile(user, *, affiliations, conflicts: dict, regions, expertise: str) -> None:
    """Affiliations and declared conflicts (organization ids) keep the reviewer away from
    those organizations' applications; an open assignment they now touch is marked conflicted."""
    from ..organizations.reference import REGIONS
    from .reviewing import recheck_conflicts_of

    ids = {int(i) for i in affiliations or [] if str(i).isdigit()} | {
        int(i) for i in conflicts or {} if str(i).isdigit()
    }
    if any(i > 2**31 - 1 for i in ids):
        raise ValidationFailed(_("Some of the chosen organizations do not exist."),
                               fields={"affiliations": [_("Not a valid choice.")]})  # fmt: skip
    known = set(db.session.execute(select(Organization.id).where(Organization.id.in_(ids))).scalars()) if ids else set()
    if ids - known:
        raise ValidationFailed(_("Some of the chosen organizations do not exist."),
                               fields={"affiliations": [_("Not a valid choice.")]})  # fmt: skip
    bad_regions = set(regions or []) - set(REGIONS)
    if bad_regions:
        raise ValidationFailed(_("Choose a region from the list."), fields={"regions": [_("Not a valid choice.")]})
    profile = db.session.get(ReviewerProfile, user.id) or ReviewerProfile(user_id=user.id)
    profile.regions, profile.expertise, profile.updated_at = (
        sorted(set(regions or [])),
        (expertise or "")[:3000],
        clock.now(),
    )
    db.session.add(profile)
    db.session.execute(ReviewerAffiliation.__table__.delete().where(ReviewerAffiliation.user_id == user.id))
    db.session.execute(ReviewerConflict.__table__.delete().where(ReviewerConflict.user_id == user.id))
    for org_id in sorted({int(i) for i in affiliations or [] if str(i).isdigit()}):
        db.session.add(ReviewerAffiliation(user_id=user.id, organization_id=org_id))
    for org_id, reason in sorted((conflicts or {}).items()):
        if str(org_id).isdigit():
            db.session.add(ReviewerConflict(user_id=user.id, organization_id=int(org_id), reason=(reason or "")[:1000]))
    record(user, "reviewer.profile_updated", "user", user.id,
           after={"affiliations": sorted(affiliations or []), "conflicts": sorted(map(str, conflicts or {}))})  # fmt: skip
    db.session.flush()
    recheck_conflicts_of(user)


def reviewers() -> list[User]:
    return [u for u in db.session.execute(select(User).where(User.roles_text.like("%reviewer%")).order_by(User.id)).scalars()
            if Role.REVIEWER in u.roles and u.is_active]  # fmt: skip


def excluded(reviewer_ids: list[int]) -> dict[int, frozenset[int]]:
    """Organizations each reviewer must never review: affiliations, declared conflicts and
    their own memberships. One query, whatever the pool size."""
    if not reviewer_ids:
        return {}
    rows = db.session.execute(union_all(
        select(ReviewerAffiliation.user_id, ReviewerAffiliation.organization_id).where(
            ReviewerAffiliation.user_id.in_(reviewer_ids)),
        select(ReviewerConflict.user_id, ReviewerConflict.organization_id).where(ReviewerConflict.user_id.in_(reviewer_ids)),
        select(Membership.user_id, Membership.organization_id).where(Membership.user_id.in_(reviewer_ids)),
    )).all()  # fmt: skip
    out: dict[int, set[int]] = {rid: set() for rid in reviewer_ids}
    for user_id, org_id in rows:
        out[user_id].add(org_id)
    return {rid: frozenset(orgs) for rid, orgs in out.items()}
