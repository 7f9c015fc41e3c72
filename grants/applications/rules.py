"""Who may open and change an application: the one place for these rules.

Members of the consortium's organizations (the lead and partners that have not declined) work
on it; only the lead submits or withdraws. Managers open submitted applications (a sealed one —
before the call closes — only with a reason given in a form, and each opening is logged; until
then lists show it without title, consortium or receipt). Assigned reviewers who declared no conflict come with the
review issue. Everyone else gets 404, as if it did not exist."""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort

from ..calls import lifecycle as call_lifecycle
from ..consortia.rules import acts_for_lead, user_org_ids
from ..extensions import db
from . import lifecycle
from .models import Application


@dataclass(frozen=True)
class Access:
    member: bool  # of any consortium organization
    lead: bool  # of the lead organization
    manager: bool
    sealed: bool  # submitted, and the call has not closed yet

    @property
    def outsider(self) -> bool:
        return not self.member


def is_sealed(app: Application) -> bool:
    """Submitted, and the call has not closed yet: what it says is nobody's business outside the
    consortium until the deadline."""
    return (
        app.status != lifecycle.Status.DRAFT
        and call_lifecycle.effective_status(app.call) == call_lifecycle.Status.PUBLISHED
    )


def opened_with_reason(user, app_ids) -> set[int]:
    """Of `app_ids`, the applications this user opened while sealed, giving a reason (access log)."""
    from sqlalchemy import select

    from .models import AccessLogEntry

    ids = list(app_ids)
    if not ids or not getattr(user, "is_authenticated", False):
        return set()
    return set(db.session.execute(
        select(AccessLogEntry.application_id).where(AccessLogEntry.application_id.in_(ids),
                                                    AccessLogEntry.user_id == user.id,
                                                    AccessLogEntry.sealed_reason.is_not(None))
    ).scalars())  # fmt: skip


def can_list_details(user, app: Application, opened: set[int], orgs: set[int] | None = None) -> bool:
    """Title, consortium and receipt in a list (API list, review stage): the consortium always; anyone
    else (a manager) only once the call has closed, or after opening this sealed application with a
    reason (`opened`: see opened_with_reason), which the applicant reads in the access log."""
    if not is_sealed(app) or app.id in opened:
        return True
    orgs = user_org_ids(user) if orgs is None else orgs
    return bool(orgs & set(app.consortium.participant_ids()))


def access(user, app: Application) -> Access | None:
    """How the user may see the application, or None."""
    if not getattr(user, "is_authenticated", False):
        return None
    orgs = user_org_ids(user)
    members = set(app.consortium.participant_ids())  # a partner that declined has left: no access
    member = bool(orgs & members)
    lead = acts_for_lead(user, app.consortium, orgs)
    manager = user.is_manager and app.status != lifecycle.Status.DRAFT
    if not (member or manager):
        return None
    return Access(member=member, lead=lead, manager=manager, sealed=is_sealed(app))


def can_edit(found: Access | None, app: Application) -> bool:
    """Change the content: a consortium member, while the application is a draft or withdrawn."""
    return bool(found and found.member and lifecycle.is_editable(app))


def can_submit(found: Access | None, app: Application) -> bool:
    """Submit: acting for the lead, while editable (the deadline is checked by the service)."""
    return bool(found and found.lead and lifecycle.is_editable(app))


def can_withdraw(found: Access | None, app: Application) -> bool:
    """Withdraw: acting for the lead, a submitted application, while the call is still open."""
    return bool(
        found and found.lead and lifecycle.can(app, lifecycle.Status.WITHDRAWN)
        and call_lifecycle.effective_status(app.call) == call_lifecycle.Status.PUBLISHED
    )  # fmt: skip


def can_read_eligibility(found: Access | None, app: Application) -> bool:
    """The consortium reads the eligibility result (and may appeal an ineligibility) once screened."""
    return bool(found and found.member and app.status in (lifecycle.Status.ELIGIBLE, lifecycle.Status.INELIGIBLE))


def can_read_result(found: Access | None, app: Application) -> bool:
    """The consortium reads the decision and its scores once the application is decided."""
    return bool(found and found.member and lifecycle.is_decided(app))


def get_application_or_404(app_id: int, user, action: str = "view") -> tuple[Application, Access]:
    from sqlalchemy.orm import joinedload

    from ..calls.models import Call
    from ..consortia.models import Consortium, ConsortiumMember
    from ..organizations.models import Organization

    # The call's lists and the organizations' themes load only when a page asks for them.
    call, consortium = joinedload(Application.call), joinedload(Application.consortium)
    app = db.session.get(Application, app_id, options=[
        call.lazyload(Call.criteria), call.lazyload(Call.themes), call.lazyload(Call.region_rows),
        consortium.joinedload(Consortium.lead).lazyload(Organization.theme_rows),
        consortium.selectinload(Consortium.members).joinedload(ConsortiumMember.organization)
        .lazyload(Organization.theme_rows)])  # fmt: skip
    if app is None:
        abort(404)
    found = access(user, app)
    if found is None:
        abort(404)
    if action == "edit" and not found.member:
        abort(404)
    if action == "lead" and not found.lead:
        abort(404)
    return app, found
