from flask import jsonify, request

from ..accounts.models import Role
from ..extensions import db
from ..organizations import rules, services
from ..organizations.forms import InviteForm, OrganizationForm
from ..organizations.models import Organization
from .core import current_api_user, endpoint, page_args, validated
from .schema import Body, body, text

ORG_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "bin": {"type": "string", "nullable": True},
        "legal_form": {"type": "string"},
        "region": {"type": "string"},
        "settlement": {"type": "string", "enum": ["rural", "urban"]},
        "settlement_name": {"type": "string"},
        "description": {"type": "string"},
        "staff_full_time": {"type": "integer"},
        "staff_part_time": {"type": "integer"},
        "volunteers": {"type": "integer"},
        "head_gender": {"type": "string", "nullable": True},
        "head_birth_year": {"type": "integer", "nullable": True},
        "board_total": {"type": "integer"},
        "board_women": {"type": "integer"},
        "board_youth": {"type": "integer"},
        "women_led": {"type": "boolean"},
        "youth_led": {"type": "boolean"},
        "women_led_verified": {"type": "boolean"},
        "youth_led_verified": {"type": "boolean"},
        "verified_at": {"type": "string", "format": "date-time", "nullable": True},
    },
}
VERIFY_BODY = Body(
    {
        "type": "object",
        "required": ["women_led", "youth_led"],
        "properties": {"women_led": {"type": "boolean"}, "youth_led": {"type": "boolean"}, "note": text(1000)},
    }
)
# JSON as before, or the same fields as multipart/form-data with the file part `evidence` (PDF, JPEG or
# PNG, checked by content): the web form's way to declare women- or youth-led status.
CREATE_BODY = Body(OrganizationForm, media="json|multipart")
PATCH_BODY = Body(OrganizationForm, partial=True, media="json|multipart")
INVITE_BODY = Body(InviteForm)
LIST_SCHEMA = {
    "type": "object",
    "properties": {
        "items": {"type": "array", "items": ORG_SCHEMA},
        "page": {"type": "integer"},
        "per_page": {"type": "integer"},
        "total": {"type": "integer"},
    },
}


def org_json(org: Organization) -> dict:
    data = services.snapshot(org) | {"id": org.id}
    data["verified_at"] = org.verified_at.isoformat() if org.verified_at else None
    return data


def _fetch(org_id: int, action: str = "view") -> Organization:
    org, _role = rules.get_organization_or_404(org_id, current_api_user(), action)
    return org


def _evidence():
    """The multipart file part `evidence`, if any (JSON bodies carry no file)."""
    return request.files.get("evidence") if request.mimetype == "multipart/form-data" else None


@endpoint(
    "/organizations", "POST", summary="Create an organization; the caller becomes its owner",
    body=CREATE_BODY, response=ORG_SCHEMA, status=201, tag="organizations",
)  # fmt: skip
def create_organization():
    payload = body()
    payload.pop("evidence", None)
    validated(OrganizationForm, payload)
    org = services.create(current_api_user(), payload, _evidence())
    return jsonify(org_json(org)), 201


@endpoint(
    "/organizations", "GET", summary="Organizations the caller may see", response=LIST_SCHEMA, tag="organizations"
)
def list_organizations():
    user = current_api_user()
    page, per_page = page_args()
    query = db.select(Organization).order_by(Organization.id)
    if not user.is_manager:
        from ..organizations.models import Membership

        query = query.join(Membership, Membership.organization_id == Organization.id).where(
            Membership.user_id == user.id
        )
    result = db.paginate(query, page=page, per_page=per_page, error_out=False)
    return jsonify(
        {"items": [org_json(o) for o in result.items], "page": page, "per_page": per_page, "total": result.total}
    )


@endpoint("/organizations/<int:org_id>", "GET", summary="One organization", response=ORG_SCHEMA, tag="organizations")
def get_organization(org_id: int):
    return jsonify(org_json(_fetch(org_id)))


@endpoint(
    "/organizations/<int:org_id>", "PATCH", summary="Edit an organization (owner or editor)",
    body=PATCH_BODY, response=ORG_SCHEMA, tag="organizations",
)  # fmt: skip
def update_organization(org_id: int):
    org = _fetch(org_id, "edit")
    changes = {k: v for k, v in body().items() if k != "evidence"}
    org = services.update(current_api_user(), org, services.snapshot(org) | changes, _evidence())
    return jsonify(org_json(org))


@endpoint(
    "/organizations/<int:org_id>/verify", "POST", summary="Manager verification of women-/youth-led status",
    roles=(Role.MANAGER, Role.ADMIN), body=VERIFY_BODY, response=ORG_SCHEMA, tag="organizations",
)  # fmt: skip
def verify_organization(org_id: int):
    org = _fetch(org_id)
    payload = body()
    org = services.verify(
        current_api_user(), org, women_led=payload["women_led"], youth_led=payload["youth_led"],
        note=str(payload.get("note") or ""),
    )  # fmt: skip
    return jsonify(org_json(org))


@endpoint(
    "/organizations/<int:org_id>/members", "POST", summary="Invite a member by email (owner)",
    body=INVITE_BODY, status=201, tag="organizations",
    response={"type": "object", "properties": {"email": {"type": "string"}, "role": {"type": "string"},
                                               "expires_at": {"type": "string", "format": "date-time"}}},
)  # fmt: skip
def invite_member(org_id: int):
    org = _fetch(org_id, "members")
    form = validated(InviteForm, body())
    invitation = services.invite(current_api_user(), org, email=form.email.data, role=form.role.data)
    return jsonify(
        {"email": invitation.email, "role": invitation.role, "expires_at": invitation.expires_at.isoformat()}
    ), 201


ACCEPT_BODY = Body({"type": "object", "required": ["token"], "properties": {
    "token": text(200, minLength=1, description="the token of the emailed invitation link")}})  # fmt: skip


@endpoint(
    "/invitations/accept", "POST", summary="Accept an invitation to an organization, signed in as the invited address",
    body=ACCEPT_BODY, response=ORG_SCHEMA, tag="organizations",
)  # fmt: skip
def accept_invitation():
    org = services.accept_invitation(current_api_user(), body()["token"])
    return jsonify(org_json(org))


@endpoint(
    "/invitations/<token>/accept", "POST", response=ORG_SCHEMA, tag="organizations",
    summary="Accept an invitation by the token of its emailed link (the same as POST /invitations/accept)",
)  # fmt: skip
def accept_invitation_by_link(token: str):
    org = services.accept_invitation(current_api_user(), token[:200])
    return jsonify(org_json(org))
