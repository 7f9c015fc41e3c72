"""What waits for a person, by role: an applicant's drafts, invitations, reports and results; a
reviewer's declarations and reviews; a manager's calls by stage with what needs action.

Read-only. Every list comes from a fixed number of queries whatever the number of rows (grouped
counts for managers, bulk loads for applicants), and every "what state is this in" question is
asked of the owning domain's rules.py predicates and lifecycle.py named sets."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import joinedload, lazyload, raiseload, selectinload

from ..accounts.models import Role
from ..applications import lifecycle as app_lifecycle
from ..applications import submission
from ..applications.models import Application
from ..applications.sections import SECTIONS
from ..awards import lifecycle as award_lifecycle
from ..awards import rules as award_rules
from ..awards import services as award_services
from ..awards.models import Award, Report, Tranche
from ..calls import lifecycle as call_lifecycle
from ..calls import rules as call_rules
from ..calls.models import Call
from ..consortia.models import Consortium, ConsortiumMember
from ..core import clock
from ..extensions import db
from ..organizations.models import Invitation, Membership, Organization
from ..reviews import lifecycle as review_lifecycle
from ..reviews import rules as review_rules
from ..reviews.models import Appeal, Assignment, Decision

# A call's criteria, themes and regions are not shown here: not loaded.
CALL_PLAIN = (lazyload(Call.criteria), lazyload(Call.themes), lazyload(Call.region_rows))
CALL_ONLY = (joinedload(Application.call).options(*CALL_PLAIN),)
OPEN_CALLS_SHOWN = 10  # the nearest deadlines first
RESULTS_SHOWN = 10  # the latest decisions first


# --- who sees which part -------------------------------------------------------------------------


def member_of_any(user) -> bool:
    """The person belongs to at least one organization (one small query)."""
    return db.session.execute(select(exists().where(Membership.user_id == user.id))).scalar()


def is_applicant(user, *, has_org: bool | None = None) -> bool:
    """Applicant pages are for members of an organization, and for people with no other role
    (a newcomer who has not registered an organization yet). A pure reviewer or manager is not."""
    if not user.has_role(Role.REVIEWER, Role.MANAGER, Role.ADMIN):
        return True
    return member_of_any(user) if has_org is None else has_org


# --- applicant ----------------------------------------------------------------------------------


@dataclass
class Draft:
    app: Application
    missing: list[str]  # section keys with a blocking problem, in the form's order
    lead: bool  # the person acts for the lead (may submit)

    @property
    def first_missing(self) -> str | None:
        return self.missing[0] if self.missing else None


@dataclass
class Grant:
    award: Award
    report: Report | None  # the report the grantee writes now (due or returned)
    report_overdue: bool
    tranche: Tranche | None  # the next tranche not yet paid
    tranche_overdue: bool


@dataclass
class ApplicantHome:
    organizations: list[tuple[int, str]] = field(default_factory=list)
    consortia_led: int = 0
    consortia_joined: int = 0  # as a partner that confirmed
    drafts: list[Draft] = field(default_factory=list)
    submitted: list[Application] = field(default_factory=list)  # waiting for the decision
    results: list[Application] = field(default_factory=list)  # decided: the result to read
    to_confirm: list[ConsortiumMember] = field(default_factory=list)  # our organization is asked to join
    awaiting_partners: list[ConsortiumMember] = field(default_factory=list)  # partners of consortia we lead
    invitations: list[Invitation] = field(default_factory=list)  # to join an organization
    grants: list[Grant] = field(default_factory=list)
    open_calls: list[Call] = field(default_factory=list)

    @property
    def steps(self) -> dict[str, bool]:
        """The newcomer's path: organization → consortium → application (done or not)."""
        return {"organization": bool(self.organizations), "consortium": bool(self.consortia_led or self.consortia_joined),
                "application": bool(self.drafts or self.submitted or self.results)}  # fmt: skip

    @property
    def show_steps(self) -> bool:
        return not all(self.steps.values())


def _missing_sections(app: Application) -> list[str]:
    found = {section for section, _message in submission.problems(app)}
    return [key for key in SECTIONS if key in found]


def open_calls(now: datetime, limit: int = OPEN_CALLS_SHOWN) -> list[Call]:
    """Calls taking applications now, the nearest deadline first (calls.lifecycle.is_open in SQL)."""
    published = call_lifecycle.Status.PUBLISHED
    query = (select(Call).options(*CALL_PLAIN).where(Call.status == published, Call.opens_at <= now, Call.closes_at > now)
             .order_by(Call.closes_at).limit(limit))  # fmt: skip
    return [c for c in db.session.execute(query).scalars() if call_lifecycle.is_open(c, now)]


def applicant_home(user, now: datetime | None = None) -> ApplicantHome:
    now = now or clock.now()
    home = ApplicantHome()
    home.organizations = [
        (org_id, name)
        for org_id, name in db.session.execute(
            select(Organization.id, Organization.name).join(Membership, Membership.organization_id == Organization.id)
            .where(Membership.user_id == user.id).order_by(Organization.name)
        ).all()
    ]  # fmt: skip
    orgs = {org_id for org_id, _name in home.organizations}
    home.invitations = list(db.session.execute(
        select(Invitation).where(Invitation.email == user.email, Invitation.accepted_at.is_(None),
                                 Invitation.expires_at > now).order_by(Invitation.created_at)).scalars())  # fmt: skip
    home.open_calls = open_calls(now)
    if not orgs:
        return home

    # Consortia: where our organization is asked to confirm, and partners we are waiting for
    # (every consortium with its members in one query each, whatever their number).
    ours = select(ConsortiumMember.consortium_id).where(ConsortiumMember.organization_id.in_(orgs))
    consortia = list(db.session.execute(
        select(Consortium).where(Consortium.id.in_(ours)).order_by(Consortium.id)
        .options(selectinload(Consortium.members).joinedload(ConsortiumMember.organization)
                 .lazyload(Organization.theme_rows), lazyload(Consortium.lead))).scalars())  # fmt: skip
    led = [c for c in consortia if c.lead_organization_id in orgs]
    home.consortia_led = len(led)
    home.consortia_joined = sum(1 for c in consortia if any(
        m.role == "partner" and m.confirmed and m.organization_id in orgs for m in c.members))  # fmt: skip
    home.to_confirm = [m for c in consortia for m in c.members
                       if m.role == "partner" and m.state == "pending" and m.organization_id in orgs]  # fmt: skip
    home.awaiting_partners = [m for c in led for m in c.members
                              if m.role == "partner" and m.state == "pending" and m.organization_id not in orgs]  # fmt: skip

    # Applications of every consortium we are in: drafts in full (their problems are computed
    # from relationships loaded in bulk), the others as a bounded list.
    editable = tuple(sorted(app_lifecycle.EDITABLE))
    for app in db.session.execute(
        select(Application).options(*CALL_ONLY)
        .where(Application.consortium_id.in_(ours), Application.status.in_(editable))
        .order_by(Application.updated_at.desc())
    ).scalars():  # fmt: skip
        if call_rules.can_apply(user, app.call):
            home.drafts.append(Draft(app, _missing_sections(app), app.consortium.lead_organization_id in orgs))
    home.drafts.sort(key=lambda d: (d.app.call.closes_at, d.app.id))
    light = (*CALL_ONLY, raiseload(Application.budget_lines), raiseload(Application.indicators),
             raiseload(Application.workplan), raiseload(Application.attachments))  # fmt: skip
    home.submitted = list(db.session.execute(
        select(Application).options(*light)
        .where(Application.consortium_id.in_(ours), Application.status.in_(tuple(sorted(app_lifecycle.UNDER_ASSESSMENT))))
        .order_by(Application.submitted_at.desc()).limit(RESULTS_SHOWN)).scalars())  # fmt: skip
    home.results = list(db.session.execute(
        select(Application).options(*light).join(Call, Call.id == Application.call_id)
        .where(Application.consortium_id.in_(ours), Application.status.in_(tuple(sorted(app_lifecycle.DECIDED))))
        .order_by(Call.decided_at.desc(), Application.id.desc()).limit(RESULTS_SHOWN)).scalars())  # fmt: skip

    # Grants the person reports for (acts for the lead): the report due and the next tranche.
    today = award_services.today()
    for award in sorted(award_services.awards_of(user), key=lambda a: a.agreement_number):
        if award.status not in award_lifecycle.AWARD_OPEN:
            continue
        report = award_rules.editable_report(award)
        tranche = next((t for t in award.tranches if t.status in award_lifecycle.TRANCHE_UNPAID), None)
        home.grants.append(Grant(
            award, report, report is not None and award_lifecycle.report_overdue(award, report, today),
            tranche, tranche is not None and award_lifecycle.tranche_overdue(award, tranche, today)))  # fmt: skip
    return home


# --- reviewer -----------------------------------------------------------------------------------


@dataclass
class ReviewerHome:
    to_declare: list[Assignment] = field(default_factory=list)
    in_progress: list[Assignment] = field(default_factory=list)
    overdue: int = 0
    submitted: int = 0


def reviewer_home(user, now: datetime | None = None) -> ReviewerHome:
    now = now or clock.now()
    home = ReviewerHome()
    owed = tuple(sorted(review_lifecycle.OPEN))
    rows = db.session.execute(
        select(Assignment).options(joinedload(Assignment.application).options(
            raiseload(Application.budget_lines), raiseload(Application.indicators), raiseload(Application.workplan),
            raiseload(Application.attachments), raiseload(Application.consortium)), raiseload(Assignment.reviewer))
        .where(Assignment.reviewer_id == user.id, Assignment.status.in_(owed))
        .order_by(Assignment.due_at, Assignment.id)).unique().scalars().all()  # fmt: skip
    for assignment in rows:
        (home.to_declare if review_rules.can_declare(user, assignment) else home.in_progress).append(assignment)
    home.overdue = sum(1 for a in rows if review_rules.is_overdue(a, now))
    home.submitted = db.session.execute(
        select(func.count()).select_from(Assignment).where(
            Assignment.reviewer_id == user.id,
            Assignment.status.in_(tuple(sorted(review_lifecycle.OPENED - review_lifecycle.OPEN))))).scalar()  # fmt: skip
    return home


# --- manager ------------------------------------------------------------------------------------

STAGES = ("draft", "upcoming", "open", "closed", "in_review", "decided")


@dataclass
class CallWork:
    call: Call
    stage: str
    submitted: int = 0  # applications handed in (every status after submission)
    to_screen: int = 0  # eligibility not yet confirmed or refused
    reviews_owed: int = 0
    reviews_overdue: int = 0
    to_decide: int = 0  # eligible applications without a decision (or reopened by an appeal)
    appeals: int = 0  # waiting for the answer
    reports_waiting: int = 0  # submitted by grantees, waiting for the manager
    reports_overdue: int = 0
    tranches_payable: int = 0  # the condition holds: may be paid now
    tranches_overdue: int = 0

    @property
    def is_draft(self) -> bool:
        return self.stage == "draft"

    @property
    def is_upcoming(self) -> bool:
        return self.stage == "upcoming"

    @property
    def is_open(self) -> bool:
        return self.stage == "open"

    @property
    def needs_action(self) -> bool:
        return any((self.to_screen, self.reviews_overdue, self.to_decide, self.appeals, self.reports_waiting,
                    self.reports_overdue, self.tranches_payable))  # fmt: skip


@dataclass
class ManagerHome:
    stages: dict[str, list[CallWork]]
    to_verify: int
    archived: int


def _stage(call: Call, now: datetime) -> str:
    """The call's effective status, with "published" split into opening soon and open."""
    if call_lifecycle.is_upcoming(call, now):
        return "upcoming"
    status = call_lifecycle.status_at(call, now)
    return "open" if status == call_lifecycle.Status.PUBLISHED else str(status)


def _grouped(query) -> dict[int, int]:
    return {call_id: count for call_id, count in db.session.execute(query).all()}


def manager_home(now: datetime | None = None) -> ManagerHome:
    """Every call not yet archived, by stage, with counts of what needs action: eight grouped
    queries, whatever the number of calls, applications, reviews or awards."""
    now = now or clock.now()
    today = award_services.today()
    calls = list(db.session.execute(
        select(Call).options(raiseload(Call.criteria), raiseload(Call.themes), raiseload(Call.region_rows))
        .where(Call.status != call_lifecycle.Status.ARCHIVED).order_by(Call.closes_at, Call.id)).scalars())  # fmt: skip
    archived = db.session.execute(
        select(func.count()).select_from(Call).where(Call.status == call_lifecycle.Status.ARCHIVED)).scalar()  # fmt: skip
    work = {c.id: CallWork(c, _stage(c, now)) for c in calls}

    by_status = db.session.execute(
        select(Application.call_id, Application.status, func.count())
        .where(Application.status.in_(tuple(sorted(app_lifecycle.SUBMITTED))))
        .group_by(Application.call_id, Application.status)).all()  # fmt: skip
    for call_id, status, count in by_status:
        item = work.get(call_id)
        if item is None:
            continue
        item.submitted += count
        if (
            status == app_lifecycle.Status.SUBMITTED
            and call_lifecycle.status_at(item.call, now) in call_lifecycle.ASSESSMENT
        ):
            item.to_screen += count

    per_call = (select(Application.call_id, func.count()).select_from(Assignment)
                .join(Application, Application.id == Assignment.application_id).group_by(Application.call_id))  # fmt: skip
    for call_id, count in _grouped(per_call.where(Assignment.status.in_(tuple(sorted(review_lifecycle.OPEN))))).items():
        if call_id in work:
            work[call_id].reviews_owed = count
    for call_id, count in _grouped(per_call.where(review_rules.overdue_clause(now))).items():
        if call_id in work:
            work[call_id].reviews_overdue = count

    decided = exists().where(and_(Decision.application_id == Application.id,
                                  Decision.status == review_lifecycle.DecisionStatus.DECIDED))  # fmt: skip
    waiting = tuple(sorted(app_lifecycle.UNDER_ASSESSMENT - {app_lifecycle.Status.SUBMITTED}))
    for call_id, count in _grouped(select(Application.call_id, func.count()).where(
            Application.status.in_(waiting), ~decided).group_by(Application.call_id)).items():  # fmt: skip
        item = work.get(call_id)
        if item is not None and item.stage in ("in_review", "decided"):
            item.to_decide = count

    for call_id, count in _grouped(select(Application.call_id, func.count()).select_from(Appeal)
                                   .join(Application, Application.id == Appeal.application_id)
                                   .where(Appeal.status == review_lifecycle.AppealStatus.FILED)
                                   .group_by(Application.call_id)).items():  # fmt: skip
        if call_id in work:
            work[call_id].appeals = count

    award_open = Award.status.in_(tuple(sorted(award_lifecycle.AWARD_OPEN)))
    reports = (select(Application.call_id, func.count()).select_from(Report).join(Award, Award.id == Report.award_id)
               .join(Application, Application.id == Award.application_id).where(award_open)
               .group_by(Application.call_id))  # fmt: skip
    for call_id, count in _grouped(
        reports.where(Report.status.in_(tuple(sorted(award_lifecycle.REPORT_WAITING))))
    ).items():
        if call_id in work:
            work[call_id].reports_waiting = count
    late_report = Report.status.in_(tuple(sorted(award_lifecycle.REPORT_OVERDUE))) & (Report.due_on < today)
    for call_id, count in _grouped(reports.where(late_report)).items():
        if call_id in work:
            work[call_id].reports_overdue = count
    tranches = (select(Application.call_id, func.count()).select_from(Tranche).join(Award, Award.id == Tranche.award_id)
                .join(Application, Application.id == Award.application_id).where(award_open)
                .group_by(Application.call_id))  # fmt: skip
    owed = Tranche.status.in_(tuple(sorted(award_lifecycle.TRANCHE_OVERDUE)))
    for call_id, count in _grouped(tranches.where(owed)).items():
        if call_id in work:
            work[call_id].tranches_payable = count
    for call_id, count in _grouped(tranches.where(owed & (Tranche.due_on < today))).items():
        if call_id in work:
            work[call_id].tranches_overdue = count

    # Organization.needs_verification in SQL: a declared women-/youth-led status not yet verified.
    to_verify = db.session.execute(select(func.count()).select_from(Organization).where(
        (Organization.women_led | Organization.youth_led) & Organization.verified_at.is_(None))).scalar()  # fmt: skip
    stages: dict[str, list[CallWork]] = {stage: [] for stage in STAGES}
    for item in work.values():
        stages.setdefault(item.stage, []).append(item)
    return ManagerHome(stages=stages, to_verify=to_verify, archived=archived)
