"""Personal data rights: a person downloads their data, deletes their account; the retention job
anonymises the people of old unfunded applications.

Deleting anonymises, it does not remove: a grants programme must keep what was submitted, so the
applications, their frozen submissions (receipts and SHA-256), reviews, awards and letters stay
as they are and stay verifiable; only the person is gone from them ("Deleted user #id"). The
audit log is append-only (database triggers) and keeps its events; the new one names no address.
"""

from __future__ import annotations

import json
import secrets
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import or_

from ..audit.services import record
from ..core import clock
from ..core.db import lock, transactional
from ..core.errors import Conflict, ValidationFailed
from ..extensions import db
from .models import AccountToken, ApiToken, Role, User, UserSession

PLACEHOLDER_DOMAIN = "deleted.invalid"  # RFC 2606: can never be a real mailbox
DEFAULT_RETENTION_YEARS = 5
ACTIVE_AWARD_STATUSES = ("pending_signature", "active")
CHUNK = 64 * 1024


def placeholder_email(user_id: int) -> str:
    return f"deleted-user-{user_id}@{PLACEHOLDER_DOMAIN}"


def deleted_name(user_id: int) -> str:
    return f"Deleted user #{user_id}"


# --- download my data -------------------------------------------------------------------------


def _plain(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    return value


def _columns(obj, *, skip: tuple[str, ...] = ()) -> dict:
    """The row's own fields (no relationships, nothing deferred for search, no storage paths)."""
    hidden = {"search_text", "path", "evidence_path", "token_hash", "code_hash", "secret", "secret_sealed", "password_hash", *skip}
    return {c.key: _plain(getattr(obj, c.key)) for c in obj.__table__.columns if c.key not in hidden}


def _organization_ids(user: User) -> list[int]:
    from ..organizations.models import Membership

    return list(db.session.scalars(db.select(Membership.organization_id).filter_by(user_id=user.id)))


def _application_ids(user: User) -> list[int]:
    """Applications the person wrote (started, saved or submitted) or belongs to (a member of an
    organization of the consortium)."""
    from ..applications.models import Application, Submission
    from ..consortia.models import ConsortiumMember

    org_ids = _organization_ids(user)
    conditions = [Application.created_by_id == user.id, Application.updated_by_id == user.id,
                  Application.id.in_(db.select(Submission.application_id).filter_by(submitted_by_id=user.id))]  # fmt: skip
    if org_ids:
        conditions.append(
            Application.consortium_id.in_(
                db.select(ConsortiumMember.consortium_id).where(ConsortiumMember.organization_id.in_(org_ids))
            )
        )
    return list(db.session.scalars(db.select(Application.id).where(or_(*conditions)).order_by(Application.id)))


def _application(app, user: User) -> dict:
    from ..applications.models import Submission

    subs = db.session.scalars(db.select(Submission).filter_by(application_id=app.id).order_by(Submission.version))
    return _columns(app, skip=("offline_key",)) | {
        "call": app.call.code,
        "consortium": app.consortium.name,
        "written_by_you": user.id in (app.created_by_id, app.updated_by_id),
        "budget_lines": [_columns(line) for line in app.budget_lines],
        "indicators": [_columns(row) for row in app.indicators],
        "workplan": [_columns(row) for row in app.workplan],
        "attachments": [_columns(a) for a in app.attachments],
        "submissions": [
            {
                "version": s.version,
                "receipt_number": s.receipt_number,
                "sha256": s.sha256,
                "submitted_at": _plain(s.submitted_at),
                "submitted_by_you": s.submitted_by_id == user.id,
            }
            for s in subs
        ],  # fmt: skip
    }


def _application_left(app, user: User) -> dict:
    """An application the person once wrote but whose consortium they have left (or declined): what
    they did, not what the consortium has written since."""
    from ..applications.models import Submission

    subs = db.session.scalars(db.select(Submission).filter_by(application_id=app.id, submitted_by_id=user.id)
                              .order_by(Submission.version))  # fmt: skip
    return {"id": app.id, "call": app.call.code, "member_now": False,
            "written_by_you": user.id in (app.created_by_id, app.updated_by_id),
            "submissions": [{"version": s.version, "receipt_number": s.receipt_number, "sha256": s.sha256,
                             "submitted_at": _plain(s.submitted_at), "submitted_by_you": True} for s in subs]}  # fmt: skip


def _event(event, user: User) -> dict:
    """An audit event, without who else acted and from where (their address is theirs, not the
    person's: an admin who changed a role, a stranger who tried to register with the email)."""
    row = _columns(event)
    if event.actor_id != user.id:
        row.update(actor_id=None, ip=None, by_someone_else=True)
    return row


def export_data(user: User) -> dict:
    """Everything the system holds about the person, as plain JSON values."""
    from ..alerts.models import Notification
    from ..applications.models import Application
    from ..audit.models import AuditEvent
    from ..organizations.models import Membership, Organization
    from ..reviews.models import Assignment, ReviewerProfile

    memberships = db.session.scalars(db.select(Membership).filter_by(user_id=user.id).order_by(Membership.id)).all()
    organizations = db.session.scalars(
        db.select(Organization).where(Organization.id.in_([m.organization_id for m in memberships]))
        .order_by(Organization.id)
    ).all()  # fmt: skip
    applications = db.session.scalars(
        db.select(Application).where(Application.id.in_(_application_ids(user))).order_by(Application.id)
    ).all()
    assignments = db.session.scalars(db.select(Assignment).filter_by(reviewer_id=user.id).order_by(Assignment.id)).all()
    messages = db.session.scalars(
        db.select(Notification).filter_by(recipient=user.email).order_by(Notification.id)
    ).all()
    events = db.session.scalars(
        db.select(AuditEvent)
        .where(or_(AuditEvent.actor_id == user.id, (AuditEvent.object_type == "user") & (AuditEvent.object_id == user.id)))
        .order_by(AuditEvent.id)
    ).all()  # fmt: skip
    profile = db.session.get(ReviewerProfile, user.id)
    orgs = {m.organization_id for m in memberships}
    return {
        "exported_at": _plain(clock.now()),
        "account": _columns(user) | {"roles": sorted(user.roles)},
        "memberships": [_columns(m) for m in memberships],
        "organizations": [_columns(o) | {"themes": o.themes} for o in organizations],
        "applications": [_application(a, user) if orgs & set(a.consortium.participant_ids())
                         else _application_left(a, user) for a in applications],  # fmt: skip
        "reviews": [
            {
                "application_id": a.application_id,
                "seat": a.seat,
                "status": a.status,
                "due_at": _plain(a.due_at),
                "conflict_reason": a.conflict_reason,
                "review": _columns(a.review, skip=("assignment_id",)) if a.review else None,
            }
            for a in assignments
        ],  # fmt: skip
        "reviewer_profile": _columns(profile) if profile else None,
        "messages": [_columns(m, skip=("key", "payload")) for m in messages],
        "sessions": [_columns(s) for s in db.session.scalars(db.select(UserSession).filter_by(user_id=user.id))],
        "api_tokens": [_columns(t) for t in db.session.scalars(db.select(ApiToken).filter_by(user_id=user.id))],
        "channels": _channels(user),
        "subscription": _subscription(user.email),
        "audit_events": [_event(e, user) for e in events],
    }


def _channels(user: User) -> dict:
    from ..channels.models import ChannelChoice, PhoneNumber, TelegramLink

    link = db.session.scalars(db.select(TelegramLink).filter_by(user_id=user.id)).first()
    phone = db.session.scalars(db.select(PhoneNumber).filter_by(user_id=user.id)).first()
    choices = db.session.scalars(db.select(ChannelChoice).filter_by(user_id=user.id)).all()
    return {
        "telegram": {"username": link.username, "linked_at": _plain(link.linked_at)} if link else None,
        "phone": {"phone": phone.phone, "verified_at": _plain(phone.verified_at)} if phone else None,
        "choices": [_columns(c, skip=("user_id",)) for c in choices],
    }


def _subscription(email: str) -> dict | None:
    from ..subscriptions.models import Subscription

    row = db.session.scalars(db.select(Subscription).filter_by(email=email)).first()
    return (_columns(row) | {"regions": row.regions, "themes": row.themes}) if row else None


def uploaded_files(user: User) -> list[tuple[str, str]]:
    """(name in the archive, stored path) of the files the person uploaded: attachments of the
    applications they wrote, their replies to clarification requests, and the evidence files of
    the organizations they own."""
    from ..applications.models import Application, Attachment
    from ..clarifications.models import ClarificationFile, ClarificationReply
    from ..organizations.models import Membership, Organization

    files: list[tuple[str, str]] = []
    orgs = set(_organization_ids(user))
    written = db.session.scalars(db.select(Application).where(Application.created_by_id == user.id)).all()
    still_member = [a.id for a in written if orgs & set(a.consortium.participant_ids())]  # left: not theirs now
    attachments = db.session.scalars(
        db.select(Attachment).where(Attachment.application_id.in_(still_member)).order_by(Attachment.id)
    )
    files += [(f"files/applications/{a.application_id}/{a.id}-{a.filename}", a.path) for a in attachments]
    replies = db.session.scalars(
        db.select(ClarificationFile).join(ClarificationReply, ClarificationReply.id == ClarificationFile.reply_id)
        .where(ClarificationReply.by_id == user.id).order_by(ClarificationFile.id)
    )  # fmt: skip
    files += [(f"files/clarifications/{f.reply_id}/{f.id}-{f.filename}", f.path) for f in replies]
    owned = db.session.scalars(
        db.select(Organization).join(Membership, Membership.organization_id == Organization.id)
        .where(Membership.user_id == user.id, Membership.role == "owner", Organization.evidence_path.is_not(None))
    )  # fmt: skip
    files += [(f"files/organizations/{o.id}/{o.evidence_filename or 'evidence'}", o.evidence_path) for o in owned]
    return files


def export_archive(user: User) -> tempfile.SpooledTemporaryFile:
    """The zip (data.json and the uploaded files), written to a spooled temporary file: small
    exports stay in memory, large ones go to disk; files are copied in chunks, never read whole."""
    from ..core.storage import storage

    out = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        data = export_data(user)
        archive.writestr("data.json", json.dumps(data, ensure_ascii=False, indent=2))
        for name, path in uploaded_files(user):
            try:
                source = storage().open(path)
            except OSError:
                continue  # a file gone from storage: the listing in data.json still names it
            with source, archive.open(name, "w", force_zip64=True) as target:
                while chunk := source.read(CHUNK):
                    target.write(chunk)
    out.seek(0)
    return out


def chunks(fileobj) -> Iterator[bytes]:
    with fileobj:
        while chunk := fileobj.read(CHUNK):
            yield chunk


# --- delete my account ------------------------------------------------------------------------


def _refusal(user: User) -> Conflict | None:
    """Why the person may not leave now, or None."""
    from ..applications.models import Application
    from ..awards.models import Award
    from ..consortia.models import ConsortiumMember
    from ..organizations.models import Membership, Organization

    if user.is_admin:
        others = db.session.scalar(
            db.select(db.func.count(User.id)).where(
                User.id != user.id, User.roles_text.contains(Role.ADMIN.value), User.disabled_at.is_(None),
                User.anonymised_at.is_(None),
            )
        )  # fmt: skip
        if not others:
            return Conflict(
                _("You are the only administrator. Make someone else an administrator before deleting your account."),
                code="last_admin",
            )
    for org_id in _organization_ids(user):
        others = db.session.scalar(
            db.select(db.func.count(Membership.id)).where(Membership.organization_id == org_id,
                                                          Membership.user_id != user.id)
        )  # fmt: skip
        if others:
            continue
        funded = db.session.scalar(
            db.select(db.func.count(Award.id))
            .join(Application, Application.id == Award.application_id)
            .join(ConsortiumMember, ConsortiumMember.consortium_id == Application.consortium_id)
            .where(ConsortiumMember.organization_id == org_id, Award.status.in_(ACTIVE_AWARD_STATUSES))
        )  # fmt: skip
        if funded:
            name = db.session.get(Organization, org_id).name
            return Conflict(
                _(
                    "You are the last member of “%(name)s”, which has a grant in progress. Invite another "
                    "member of the organization first, so someone can report on the grant.",
                    name=name,
                ),
                code="last_member_of_funded_organization",
            )
    return None


def deletion_refusal(user: User) -> str | None:
    """What the account page says before the person tries (the same rule delete_account applies)."""
    refusal = _refusal(user)
    return refusal.message if refusal else None


@transactional
def delete_account(user: User, *, password: str) -> None:
    """The person deletes their own account, confirming with their password: refused (409) while
    they are the only administrator or the last member of an organization with a grant in
    progress. Every admin row is locked first, so two last admins cannot both leave at once."""
    from .services import password_matches

    if not password_matches(user, password):
        raise ValidationFailed(_("The password is wrong."), fields={"password": [_("Wrong password.")]})
    if user.is_admin:
        db.session.execute(
            db.select(User.id).where(User.roles_text.contains(Role.ADMIN.value)).order_by(User.id).with_for_update()
        ).all()
    lock(user)
    refusal = _refusal(user)
    if refusal is not None:
        raise refusal
    anonymise(user, actor=user, reason="deleted_by_user")


def anonymise(user: User, *, actor, reason: str) -> None:
    """Remove the person: name and email replaced, password unusable, every session, token,
    channel link, subscription, membership and reviewer profile removed, the account disabled.
    What they submitted stays, with this anonymous author."""
    from ..alerts.models import Notification
    from ..channels import models as channels
    from ..organizations.models import Invitation, Membership
    from ..reviews.models import ReviewerAffiliation, ReviewerConflict, ReviewerProfile
    from ..subscriptions.models import Subscription

    old_email = user.email
    now = clock.now()
    for model in (UserSession, ApiToken, AccountToken, Membership, ReviewerProfile, ReviewerAffiliation,
                  ReviewerConflict, channels.TelegramLink, channels.TelegramCode, channels.PhoneNumber,
                  channels.PhoneCode, channels.TelegramBlocked, channels.ChannelChoice, *_two_factor_models()):  # fmt: skip
        db.session.execute(
            db.delete(model).where(model.user_id == user.id).execution_options(synchronize_session=False)
        )
    for subscription in db.session.scalars(db.select(Subscription).filter_by(email=old_email)):
        db.session.delete(subscription)  # with its regions and themes
    db.session.execute(db.delete(Invitation).where(Invitation.email == old_email, Invitation.accepted_at.is_(None)))
    # The message log keeps that a message was sent, not to which address nor what it said.
    db.session.execute(
        db.update(Notification).where(Notification.recipient == old_email)
        .values(recipient=placeholder_email(user.id), address=None, payload=None)
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    user.name = deleted_name(user.id)
    user.email = placeholder_email(user.id)
    user.password_hash = "!unusable:" + secrets.token_hex(16)  # never a valid argon2 hash
    user.roles_text = ""
    user.disabled_at = user.disabled_at or now
    user.anonymised_at = now
    record(actor, "user.anonymised", "user", user.id, after={"reason": reason})


def _two_factor_models() -> tuple:
    from . import models

    return tuple(getattr(models, name) for name in ("TwoFactor", "RecoveryCode") if hasattr(models, name))


# --- retention --------------------------------------------------------------------------------


@dataclass
class RetentionResult:
    cutoff: datetime
    people: list[tuple[int, list[int]]] = field(default_factory=list)  # (user id, application ids)

    @property
    def lines(self) -> list[str]:
        return [f"user {uid}: applications {', '.join(map(str, apps))}" for uid, apps in self.people]


def retention_years() -> int:
    return int(current_app.config.get("RETENTION_YEARS", DEFAULT_RETENTION_YEARS))


def _retention_candidates(cutoff: datetime) -> list[tuple[int, list[int]]]:
    """People whose only applications are unfunded ones of calls decided before the cutoff, who
    have not signed in since, hold no staff role and belong to no funded organization."""
    from ..applications.models import Application, Submission
    from ..awards.models import Award
    from ..calls.models import Call
    from ..consortia.models import ConsortiumMember
    from ..organizations.models import Membership

    ties = db.union(
        db.select(Application.id.label("app_id"), Application.created_by_id.label("user_id")),
        db.select(Application.id, Application.updated_by_id),
        db.select(Submission.application_id, Submission.submitted_by_id),
    ).subquery()
    funded_apps = db.select(Award.application_id)
    old_unfunded = (
        db.select(Application.id).join(Call, Call.id == Application.call_id)
        .where(Call.decided_at.is_not(None), Call.decided_at <= cutoff, Application.status != "awarded",
               Application.id.not_in(funded_apps))
    )  # fmt: skip
    rows = db.session.execute(
        db.select(ties.c.user_id, ties.c.app_id).where(ties.c.user_id.is_not(None)).order_by(ties.c.user_id, ties.c.app_id)
    ).all()  # fmt: skip
    old = set(db.session.scalars(old_unfunded))
    by_user: dict[int, list[int]] = {}
    for user_id, app_id in rows:
        by_user.setdefault(user_id, []).append(app_id)
    funded_orgs = set(
        db.session.scalars(
            db.select(ConsortiumMember.organization_id)
            .join(Application, Application.consortium_id == ConsortiumMember.consortium_id)
            .where(Application.id.in_(funded_apps))
        )
    )  # fmt: skip
    out = []
    for user_id, app_ids in by_user.items():
        if not set(app_ids) <= old:
            continue
        user = db.session.get(User, user_id)
        last_seen = getattr(user, "last_login_at", None) or user.created_at
        if user.anonymised_at is not None or user.roles - {Role.APPLICANT} or last_seen > cutoff:
            continue
        orgs = set(db.session.scalars(db.select(Membership.organization_id).filter_by(user_id=user_id)))
        if orgs & funded_orgs:
            continue
        out.append((user_id, sorted(set(app_ids))))
    return out


@transactional
def run_retention(at: datetime | None = None, *, dry_run: bool = False, years: int | None = None) -> RetentionResult:
    """Anonymise the people of unfunded applications `years` (config RETENTION_YEARS) after their
    call's decision. A dry run only lists them. Each person is audited, and so is the run."""
    years = retention_years() if years is None else years
    moment = at or clock.now()
    cutoff = moment - timedelta(days=round(365.25 * years))
    result = RetentionResult(cutoff=cutoff, people=_retention_candidates(cutoff))
    if dry_run:
        return result
    for user_id, _apps in result.people:
        user = db.session.get(User, user_id)
        lock(user)
        if user.anonymised_at is None:
            anonymise(user, actor=None, reason="retention")
    record(None, "retention.run", "user", None,
           after={"cutoff": cutoff, "years": years, "anonymised": [uid for uid, _a in result.people]})  # fmt: skip
    return result
