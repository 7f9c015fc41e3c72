"""Organizations: create and edit profiles, members and invitations, manager verification.
All validation of organization data is here, shared by the web forms and the API."""

from __future__ import annotations

from datetime import date, timedelta

from flask_babel import gettext as _
from werkzeug.datastructures import FileStorage

from .. import mail
from ..accounts.services import check_email
from ..audit.services import changes, record
from ..core import search, uploads
from ..core.db import lock, transactional, utcnow
from ..core.errors import Conflict, ServiceError, ValidationFailed
from ..core.urls import external_url
from ..extensions import db
from ..security import new_token, token_hash
from .bin import is_valid_bin
from .models import Invitation, MemberRole, Membership, Organization, OrganizationTheme
from .reference import LEGAL_FORMS, REGIONS

INVITATION_TTL = timedelta(days=14)
PROFILE_FIELDS = (
    "name", "bin", "legal_form", "region", "settlement", "settlement_name", "description",
    "staff_full_time", "staff_part_time", "volunteers", "head_gender", "head_birth_year",
    "board_total", "board_women", "board_youth", "women_led", "youth_led", "public_profile",
)  # fmt: skip
COUNT_FIELDS = ("staff_full_time", "staff_part_time", "volunteers", "board_total", "board_women", "board_youth")


def snapshot(org: Organization) -> dict:
    return (
        {name: getattr(org, name) for name in PROFILE_FIELDS}
        | {"themes": org.themes}
        | {
            "women_led_verified": org.women_led_verified,
            "youth_led_verified": org.youth_led_verified,
        }
    )


def _int(value, field: str, errors: dict, *, low: int, high: int) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool | float | list | dict):
        errors.setdefault(field, []).append(_("Please enter a whole number."))
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        errors.setdefault(field, []).append(_("Please enter a whole number."))
        return None
    if not low <= number <= high:
        errors.setdefault(field, []).append(_("Please enter a number from %(low)d to %(high)d.", low=low, high=high))
    return number


def _texts(data: dict, errors: dict) -> dict:
    """The text fields as strings: a number, list or object where text belongs is an error, not a crash."""
    text_fields = ("name", "bin", "legal_form", "region", "settlement", "settlement_name", "description",
                   "head_gender")  # fmt: skip
    values = dict(data)
    for field in text_fields:
        value = data.get(field)
        if value is not None and not isinstance(value, str):
            errors.setdefault(field, []).append(_("Must be text."))
            values[field] = ""
    themes = data.get("themes")
    if themes is not None and not (isinstance(themes, list) and all(isinstance(t, str) for t in themes)):
        errors.setdefault("themes", []).append(_("Must be a list of theme codes."))
        values["themes"] = []
    return values


def clean(data: dict, *, current: Organization | None = None) -> dict:
    """Validated profile values, or ValidationFailed listing every problem by field."""
    errors: dict[str, list[str]] = {}
    data = _texts(data, errors)
    out: dict = {}
    out["name"] = (data.get("name") or "").strip()
    if not out["name"]:
        errors["name"] = [_("Please enter the organization's name.")]
    elif len(out["name"]) > 300:
        errors["name"] = [_("The name is too long (300 characters at most).")]
    legal_form = data.get("legal_form") or ""
    if legal_form not in LEGAL_FORMS:
        errors["legal_form"] = [_("Choose a legal form from the list.")]
    out["legal_form"] = legal_form
    raw_bin = "".join((data.get("bin") or "").split())
    if legal_form == "initiative_group":
        if raw_bin:
            errors["bin"] = [_("An initiative group has no BIN: leave this field empty.")]
        out["bin"] = None
    else:
        if not raw_bin:
            errors["bin"] = [_("Please enter the BIN (12 digits).")]
        elif len(raw_bin) != 12 or not raw_bin.isdigit():
            errors["bin"] = [_("A BIN has exactly 12 digits.")]
        elif not is_valid_bin(raw_bin):
            errors["bin"] = [_("This BIN is not valid: its check digit does not match. Please check the number.")]
        out["bin"] = raw_bin or None
    region = data.get("region") or ""
    if region not in REGIONS:
        errors["region"] = [_("Choose a region from the list.")]
    out["region"] = region
    settlement = data.get("settlement") or ""
    if settlement not in ("rural", "urban"):
        errors["settlement"] = [_("Choose rural or urban.")]
    out["settlement"] = settlement
    out["settlement_name"] = (data.get("settlement_name") or "").strip()
    out["description"] = (data.get("description") or "").strip()
    for field, limit in (("settlement_name", 200), ("description", 5000)):
        if len(out[field]) > limit:
            errors.setdefault(field, []).append(_("Too long: at most %(n)d characters.", n=limit))
    for field in COUNT_FIELDS:
        out[field] = _int(data.get(field), field, errors, low=0, high=100000) or 0
    gender = data.get("head_gender") or None
    if gender not in (None, "female", "male"):
        errors["head_gender"] = [_("Not a valid choice.")]
    out["head_gender"] = gender
    this_year = date.today().year
    out["head_birth_year"] = _int(data.get("head_birth_year"), "head_birth_year", errors, low=1920, high=this_year - 14)
    if out["board_women"] > out["board_total"]:
        errors.setdefault("board_women", []).append(_("Cannot be more than the governing body's total."))
    if out["board_youth"] > out["board_total"]:
        errors.setdefault("board_youth", []).append(_("Cannot be more than the governing body's total."))
    out["women_led"] = bool(data.get("women_led"))
    out["youth_led"] = bool(data.get("youth_led"))
    out["public_profile"] = bool(data.get("public_profile"))
    from ..calls.models import Theme

    themes = sorted({str(t) for t in (data.get("themes") or [])})
    known = set(db.session.execute(db.select(Theme.code)).scalars())
    if set(themes) - known:
        errors["themes"] = [_("Unknown theme: %(codes)s.", codes=", ".join(sorted(set(themes) - known)))]
    out["themes"] = themes
    if out["bin"] and "bin" not in errors:
        query = db.select(Organization.id).filter_by(bin=out["bin"])
        if current is not None:
            query = query.where(Organization.id != current.id)
        if db.session.execute(query).first():
            raise Conflict(
                _(
                    "An organization with this BIN is already registered. One legal entity is one "
                    "organization here: ask its owner to invite you as a member."
                ),
                fields={"bin": [_("This BIN is already registered.")]},
                code="bin_taken",
            )
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), fields=errors)
    return out


def _store_evidence(org: Organization, evidence: FileStorage | None, declared: bool) -> None:
    if evidence is not None and evidence.filename:
        stored = uploads.store(evidence, allowed=uploads.EVIDENCE_KINDS, folder="evidence")
        org.evidence_path = stored.path
        org.evidence_filename = stored.filename
        org.evidence_sha256 = stored.sha256
        org.evidence_content_type = stored.content_type
    elif declared and not org.evidence_path:
        raise ValidationFailed(
            _("Please attach evidence (PDF, JPEG or PNG) for the women-led or youth-led declaration."),
            fields={"evidence": [_("Evidence is required for this declaration.")]},
        )


@transactional
def create(actor, data: dict, evidence: FileStorage | None = None) -> Organization:
    """A new organization; the creator becomes its owner."""
    values = clean(data)
    themes = values.pop("themes")
    org = Organization(**values)
    org.theme_rows = [OrganizationTheme(theme_code=t) for t in themes]
    _store_evidence(org, evidence, values["women_led"] or values["youth_led"])
    db.session.add(org)
    db.session.flush()
    db.session.add(Membership(user_id=actor.id, organization_id=org.id, role=MemberRole.OWNER))
    record(actor, "organization.created", "organization", org.id, after=snapshot(org))
    return org


@transactional
def update(actor, org: Organization, data: dict, evidence: FileStorage | None = None) -> Organization:
    """Edit the profile. Changing a declaration (or its evidence) withdraws the manager's
    verification, which must then be given again."""
    lock(org)
    before = snapshot(org)
    values = clean(data, current=org)
    themes = values.pop("themes")
    for key, value in values.items():
        setattr(org, key, value)
    if themes != org.themes:
        org.theme_rows = [OrganizationTheme(theme_code=t) for t in themes]
    new_evidence = evidence is not None and bool(evidence.filename)
    _store_evidence(org, evidence, values["women_led"] or values["youth_led"])
    declarations_changed = (before["women_led"], before["youth_led"]) != (org.women_led, org.youth_led)
    if declarations_changed or new_evidence:
        org.women_led_verified = org.youth_led_verified = False
        org.verified_at = None
        org.verified_by_id = None
    old, new = changes(before, snapshot(org))
    if new_evidence:
        new["evidence_sha256"] = org.evidence_sha256
    if new:
        record(actor, "organization.updated", "organization", org.id, before=old, after=new)
    return org


@transactional
def verify(actor, org: Organization, *, women_led: bool, youth_led: bool, note: str = "") -> Organization:
    """A manager confirms (or not) the declarations; only verified flags give priority points."""
    lock(org)
    if (women_led and not org.women_led) or (youth_led and not org.youth_led):
        raise ValidationFailed(_("Only a declared status can be verified."), code="not_declared")
    before = {"women_led_verified": org.women_led_verified, "youth_led_verified": org.youth_led_verified}
    org.women_led_verified, org.youth_led_verified = women_led, youth_led
    org.verified_at = utcnow()
    org.verified_by_id = actor.id
    after = {"women_led_verified": women_led, "youth_led_verified": youth_led, "note": (note or "").strip()[:1000]}
    record(actor, "organization.verified", "organization", org.id, before=before, after=after)
    return org


class RateLimited(ServiceError):
    """A cap on what makes the platform email others is reached (429): its mail must not be a tool
    for sending many messages to strangers (ASVS 5.0 V2.4.1, anti-automation)."""

    status = 429
    code = "rate_limited"


INVITATIONS_PER_ORGANIZATION_PER_DAY = 20
INVITATIONS_PER_SENDER_PER_DAY = 40  # across the sender's organizations (initiative groups are cheap to create)
PENDING_INVITATIONS_PER_ADDRESS = 3  # organizations waiting for one address at a time
RESEND_AFTER = timedelta(days=1)  # a pending address is emailed again at most once a day


def _named_lock(name: str) -> None:
    """A transaction-scoped lock on a name (PostgreSQL advisory lock) for what has no row to lock,
    such as an email address nobody has registered. SQLite serialises writers itself."""
    import hashlib

    if db.session.get_bind().dialect.name == "postgresql":
        key = int.from_bytes(hashlib.sha256(f"grants:{name}".encode()).digest()[:8], "big", signed=True)
        db.session.execute(db.text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def _check_invitation_caps(actor, org: Organization, email: str, now) -> None:
    """The caps on invitation emails, checked under locks taken by the caller (sender, organization,
    address), so parallel requests cannot pass them together."""
    from sqlalchemy import func

    day_ago = now - RESEND_AFTER
    count = db.select(func.count(Invitation.id)).where(Invitation.created_at > day_ago)
    last_here = db.session.execute(
        db.select(func.max(Invitation.created_at)).where(
            Invitation.organization_id == org.id, Invitation.email == email, Invitation.accepted_at.is_(None),
            Invitation.expires_at > now,
        )
    ).scalar()  # fmt: skip
    if last_here is not None and last_here > day_ago:
        raise RateLimited(
            _("An invitation was already sent to %(email)s today. It stays valid for 14 days; it can be sent "
              "again tomorrow.", email=email), fields={"email": [_("Already invited today.")]},
        )  # fmt: skip
    if db.session.execute(count.where(Invitation.organization_id == org.id)).scalar() >= (
        INVITATIONS_PER_ORGANIZATION_PER_DAY
    ):
        raise RateLimited(
            _("This organization has sent as many invitations as it may in one day. Please try again tomorrow."),
            fields={"email": [_("Too many invitations today.")]},
        )  # fmt: skip
    if db.session.execute(count.where(Invitation.invited_by_id == actor.id)).scalar() >= (
        INVITATIONS_PER_SENDER_PER_DAY
    ):
        raise RateLimited(
            _("You have sent as many invitations as you may in one day. Please try again tomorrow."),
            fields={"email": [_("Too many invitations today.")]},
        )  # fmt: skip
    waiting = db.session.execute(
        db.select(func.count(func.distinct(Invitation.organization_id))).where(
            Invitation.email == email, Invitation.organization_id != org.id, Invitation.accepted_at.is_(None),
            Invitation.expires_at > now,
        )
    ).scalar()  # fmt: skip
    if waiting >= PENDING_INVITATIONS_PER_ADDRESS:
        raise RateLimited(
            _("%(email)s already has several invitations waiting. Please ask the person to answer them first, "
              "or try again later.", email=email),
            fields={"email": [_("Too many invitations waiting for this address.")]},
        )  # fmt: skip


@transactional
def invite(actor, org: Organization, *, email: str, role: str) -> Invitation:
    """The owner invites a person by email; they join when they accept while logged in.
    Capped: a pending address is emailed at most once a day, an organization and a sender send at
    most a few dozen invitations a day, and one address waits for a few organizations at most.
    The subject line is the programme's own words: nothing the owner typed (ASVS 5.0 V2.4.1)."""
    from ..accounts.models import User
    from ..core import clock

    email = check_email(email)
    if role not in (MemberRole.OWNER, MemberRole.EDITOR):
        raise ValidationFailed(_("Not a valid choice."), fields={"role": [_("Not a valid choice.")]})
    already = db.session.execute(
        db.select(Membership.id)
        .join(User, User.id == Membership.user_id)
        .where(Membership.organization_id == org.id, User.email == email)
    ).first()
    if already:
        raise Conflict(_("This person is already a member."), fields={"email": [_("Already a member.")]})
    # One order for every invitation (sender, organization, address): parallel requests queue, never deadlock.
    db.session.execute(db.select(User.id).where(User.id == actor.id).with_for_update())
    lock(org)
    _named_lock(f"invitation-address:{email}")
    now = clock.now()
    _check_invitation_caps(actor, org, email, now)
    token, hashed = new_token()
    invitation = Invitation(
        organization_id=org.id, email=email, role=role, token_hash=hashed,
        invited_by_id=actor.id, created_at=now, expires_at=now + INVITATION_TTL,
    )  # fmt: skip
    db.session.add(invitation)
    db.session.flush()
    invitee = db.session.execute(db.select(User).filter_by(email=email)).scalar_one_or_none()
    link = external_url("organizations.accept_invitation", token=token)
    locale = invitee.locale if invitee else actor.locale
    mail.send(email, "invitation", locale, organization=org, inviter=actor, link=link, role=role)
    record(actor, "organization.member_invited", "organization", org.id, after={"email": email, "role": role})
    return invitation


def find_invitation(token: str) -> Invitation:
    invitation = db.session.execute(
        db.select(Invitation).filter_by(token_hash=token_hash(token or ""))
    ).scalar_one_or_none()
    if invitation is None:
        raise ServiceError(
            _("This link is not valid. Please check that you copied it completely."), code="invalid_token"
        )
    if invitation.accepted_at is not None:
        raise Conflict(_("This link has already been used."), code="token_used")
    if invitation.expires_at < utcnow():
        raise ServiceError(_("This link has expired. Please ask for a new one."), code="token_expired")
    return invitation


@transactional
def accept_invitation(user, token: str) -> Organization:
    invitation = find_invitation(token)
    if invitation.email != user.email:
        raise ServiceError(
            _("This invitation was sent to %(email)s. Log in with that address to accept it.", email=invitation.email),
            code="wrong_account",
        )
    invitation.accepted_at = utcnow()
    exists = db.session.execute(
        db.select(Membership).filter_by(user_id=user.id, organization_id=invitation.organization_id)
    ).scalar_one_or_none()
    if exists is None:
        db.session.add(Membership(user_id=user.id, organization_id=invitation.organization_id, role=invitation.role))
    record(
        user, "organization.member_joined", "organization", invitation.organization_id, after={"role": invitation.role}
    )
    return invitation.organization


def organizations_of(user) -> list[tuple[Organization, str]]:
    rows = db.session.execute(
        db.select(Organization, Membership.role)
        .join(Membership, Membership.organization_id == Organization.id)
        .where(Membership.user_id == user.id)
        .order_by(Organization.name)
    ).all()
    return [(org, role) for org, role in rows]


def members_of(org: Organization) -> list[tuple[str, str, str]]:
    from ..accounts.models import User

    return [
        tuple(row)
        for row in db.session.execute(
            db.select(User.name, User.email, Membership.role)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.organization_id == org.id)
            .order_by(Membership.role.desc(), User.name)
        ).all()
    ]


def directory(*, query: str = "", region: str | None = None, theme: str | None = None, limit: int = 100):
    """Organizations that opted in to a public profile, for partner search: every word of the
    query is found in the name, place, description or region (any case, Cyrillic or Latin:
    «Арал», "aral", «жасыл», "zhasyl"), or the query is a BIN."""
    from sqlalchemy import and_, exists, or_

    statement = db.select(Organization).where(Organization.public_profile.is_(True))
    if region:
        statement = statement.where(Organization.region == region)
    if theme:
        statement = statement.where(
            exists().where(OrganizationTheme.organization_id == Organization.id, OrganizationTheme.theme_code == theme)
        )
    text = (query or "").strip()
    conditions = search.matches(text, Organization.search_text)
    if conditions:
        statement = statement.where(or_(and_(*conditions), Organization.bin == "".join(text.split())))
    return list(db.session.execute(statement.order_by(Organization.name).limit(limit)).scalars())
