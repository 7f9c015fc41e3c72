"""The caller's own data (ASVS V14.2, personal data): download it, delete the account."""

from __future__ import annotations

from ..accounts import personal_data
from ..accounts.data_views import export_response, per_person
from ..extensions import limiter
from .core import current_api_user, endpoint
from .schema import Body, body, text

DELETE_BODY = Body({
    "type": "object", "required": ["password"],
    "properties": {"password": text(200, minLength=1, description="The account's password, to confirm.")},
})  # fmt: skip


@endpoint(
    "/me/export", "GET", tag="accounts", response={"type": "string", "format": "binary"},
    summary="Download my data: a ZIP with data.json (account, memberships, organizations, applications, "
    "reviews, messages, sessions, audit events) and the files I uploaded; never cached",
)  # fmt: skip
@limiter.limit("10 per hour", key_func=per_person)
def export_me():
    return export_response(current_api_user())


@endpoint(
    "/me", "DELETE", body=DELETE_BODY, status=204, tag="accounts",
    summary="Delete my account: anonymised (name, email, sessions, tokens, channel links removed); submitted "
    "applications, receipts and letters are kept and stay verifiable. 409 for the only administrator or the "
    "last member of an organization with a grant in progress",
)  # fmt: skip
@limiter.limit("10 per hour", key_func=per_person)
def delete_me():
    personal_data.delete_account(current_api_user(), password=body()["password"])
    return "", 204
