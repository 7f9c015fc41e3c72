from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf.csrf import validate_csrf
from sqlalchemy import func, select
from sqlalchemy.orm import lazyload, load_only, selectinload

from ..accounts.models import Role
from ..applications import services as applications
from ..applications.models import AccessLogEntry, Application, BudgetLine
from ..applications.sections import CATEGORIES
from ..calls import rules as call_rules
from ..core.access import role_required
from ..core.errors import ServiceError, ValidationFailed
from ..core.export import table_response
from ..extensions import db
from . import appeals as appeal_services
from . import assigning, decisions, eligibility, reviewing, rules, scoring
from . import pool as reviewer_pool
from .models import Assignment, Decision
from .ranking import ranking as compute_ranking

bp = Blueprint("reviews", __name__)


@bp.app_context_processor
def _helpers():
    from flask_babel import gettext, pgettext

    labels = {
        "selected": gettext("selected for funding"), "not_eligible": gettext("not eligible"),
        "no_reviews": gettext("no reviews yet"), "below_threshold": gettext("below the quality threshold"),
        "budget": gettext("not enough budget left"), "max_awards": gettext("the maximum number of grants is reached"),
        "consortium_cap": gettext("the consortium has the maximum number of grants"),
        "max_consortia": gettext("the maximum number of funded consortia is reached"),
        "women_led": gettext("women-led"), "youth_led": gettext("youth-led"), "rural": gettext("rural lead organization"),
        "newcomer": gettext("first grant from the programme"), "capped": gettext("capped"),
        "incomplete": gettext("incomplete"), "divergent": gettext("divergent scores"),
        "award": gettext("award"), "reserve": gettext("reserve"), "reject": gettext("reject"),
        "pending": gettext("waiting for your declaration"), "declared": gettext("in progress"),
        "conflicted": gettext("conflict of interest"), "submitted": pgettext("review", "submitted"),
        "upheld": gettext("upheld"), "dismissed": gettext("dismissed"), "filed": gettext("waiting for the answer"),
        "override_award": gettext("awarded by a justified decision"),
        "override_reject": gettext("rejected by a justified decision"),
    }  # fmt: skip
    checks = {"region": gettext("region is eligible"), "legal_form": gettext("the lead's legal form may lead"),
              "consortium_size": gettext("consortium size within limits"),
              "budget": gettext("budget within limits and equal to the request"),
              "partners_confirmed": gettext("all partners confirmed")}  # fmt: skip
    return {"review_label": lambda code: labels.get(code, code), "shown": scoring.shown,
            "check_label": lambda code: checks.get(code, code), "cap_label": decisions.cap_label,
            **rules.template_helpers()}  # fmt: skip


# --- reviewers ----------------------------------------------------------------------------------


@bp.route("/reviews")
@role_required(Role.REVIEWER)
def mine():
    return render_template("reviews/mine.html", assignments=assigning.assignments_of(current_user))


@bp.route("/reviews/invitations/<token>", methods=["GET", "POST"])
@login_required
def accept_invitation(token: str):
    if request.method == "POST":
        validate_csrf(request.form.get("csrf_token"))
        try:
            reviewer_pool.accept_invitation(current_user, token)
        except ServiceError as error:
            db.session.rollback()
            return render_template("accounts/token_problem.html", message=error.message), error.status
        flash(_("You are now a reviewer. Please fill in your affiliations and conflicts."), "success")
        return redirect(url_for("reviews.profile"))
    return render_template("reviews/invitation.html")


@bp.route("/reviewer/profile", methods=["GET", "POST"])
@role_required(Role.REVIEWER)
def profile():
    from ..organizations.models import Organization
    from .models import ReviewerAffiliation, ReviewerConflict, ReviewerProfile

    if request.method == "POST":
        validate_csrf(request.form.get("csrf_token"))
        affiliations = [i for i in request.form.getlist("affiliation") if i]
        conflicts = {i: request.form.get(f"conflict_reason-{i}", "") for i in request.form.getlist("conflict") if i}
        for bin_ in (request.form.get("bins") or "").split():
            found = db.session.execute(select(Organization.id).filter_by(bin=bin_.strip())).scalar_one_or_none()
            if found:
                affiliations.append(str(found))
        try:
            reviewer_pool.set_profile(current_user, affiliations=affiliations, conflicts=conflicts,
                                      regions=request.form.getlist("regions"), expertise=request.form.get("expertise", ""))  # fmt: skip
        except ServiceError as error:
            db.session.rollback()
            flash(error.message, "error")
            return redirect(url_for("reviews.profile")), 303
        flash(_("Saved."), "success")
        return redirect(url_for("reviews.profile"))
    me = current_user.id
    affiliated = set(db.session.execute(select(ReviewerAffiliation.organization_id).filter_by(user_id=me)).scalars())
    conflicts = dict(
        db.session.execute(
            select(ReviewerConflict.organization_id, ReviewerConflict.reason).filter_by(user_id=me)
        ).all()
    )
    orgs = list(db.session.execute(select(Organization).order_by(Organization.name).limit(500)).scalars())
    return render_template("reviews/profile.html", orgs=orgs, affiliated=affiliated, conflicts=conflicts,
                           profile=db.session.get(ReviewerProfile, me))  # fmt: skip


def _log_reviewer(assignment: Assignment, action: str) -> None:
    """Recorded with the request's one commit (a refused request leaves no entry)."""
    db.session.add(AccessLogEntry(application_id=assignment.application_id, user_id=current_user.id,
                                  viewer_role="reviewer", reviewer_seat=assignment.seat, action=action))  # fmt: skip


def _conflict_found():
    """The reviewer is now linked to a consortium organization: the content stays closed and the
    manager is asked to reassign. A redirect (not an error) so the request keeps the mark."""
    flash(_("You are now linked to an organization of this consortium, so this application has been returned "
            "to the programme for reassignment."), "error")  # fmt: skip
    return redirect(url_for("reviews.mine"))


def _decimal_symbol() -> str:
    from babel.numbers import get_decimal_symbol

    from ..i18n import current_locale

    return get_decimal_symbol(current_locale())


def score_text(value) -> str:
    """A stored score as the reviewer would type it in their language (7,5 in kk and ru)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        return value
    return str(value).replace(".", _decimal_symbol())


def total_text(total: reviewing.RunningTotal) -> str:
    """The running total with the ranking's rounding (scoring.shown), in the reader's notation."""
    return "—" if total.value is None else scoring.shown(total.value).replace(".", _decimal_symbol())


def _partners(app, blind: bool) -> list[tuple[str, str]]:
    """(organization, role) of each partner; on a blind call the PDF's neutral labels ("Partner 1")."""
    from ..applications.pdf import _blind_labels

    members = sorted(app.consortium.members, key=lambda m: (m.role != "lead", m.id))
    names = _blind_labels(members) if blind else {m.organization_id: m.organization.name for m in members}
    roles = app.partner_roles or {}
    return [(names[m.organization_id], roles.get(str(m.organization_id), "")) for m in members if m.role == "partner"]


def _render_declaration(assignment, *, errors=None, form=None):
    """The declaration step. On a blind call it names nobody either (ASVS 5.0 V8.2.3): the consortium's
    members by their neutral labels, as on the review page; links with them are checked by the
    programme (memberships, affiliations, declared conflicts) at assignment and again on opening."""
    app = assignment.application
    blind = app.call.blind_review
    members = sorted(app.consortium.members, key=lambda m: (m.role != "lead", m.id))
    if blind:
        from ..applications.pdf import _blind_labels

        labels = _blind_labels(members)
        names = [labels[m.organization_id] for m in members]
    else:
        names = [m.organization.name for m in members]
    return render_template("reviews/declare.html", assignment=assignment, errors=errors or {}, form=form,
                           blind=blind, member_names=names)  # fmt: skip


def _render_review(assignment, *, errors=None, form=None, status=200):
    app = assignment.application
    review = assignment.review
    scores = {c.key: form.get(f"score-{c.key}", "") for c in app.call.criteria} if form else (
        review.scores if review else {})  # fmt: skip
    blind = app.call.blind_review
    return render_template("reviews/review.html", assignment=assignment, app=app, content=applications.content(app),
                           review=review, errors=errors or {}, form=form, categories=CATEGORIES, blind=blind,
                           partners=_partners(app, blind), total=reviewing.running_total(app.call, scores),
                           total_text=total_text, score_text=score_text,
                           decimal=_decimal_symbol()), status  # fmt: skip


@bp.route("/reviews/<int:assignment_id>", methods=["GET", "POST"])
@role_required(Role.REVIEWER)
def review(assignment_id: int):
    """The application beside the rubric. "Save draft" keeps the scores (the running total is
    computed on save); "Submit the review" locks it, and only with the confirmation ticked: without
    it the scores are checked as for a submission, kept as a draft, and the reviewer is asked to
    confirm."""
    assignment = rules.get_assignment_or_404(assignment_id, current_user)
    if not rules.can_open(assignment):
        abort(404)
    if request.method == "POST":
        validate_csrf(request.form.get("csrf_token"))
    if not reviewing.open_assignment(current_user, assignment):
        return _conflict_found()
    app = assignment.application
    if rules.can_declare(current_user, assignment):
        return _render_declaration(assignment)
    if request.method == "POST":
        keys = [c.key for c in app.call.criteria]
        submitting = request.form.get("action") == "submit"
        confirmed = request.form.get("confirm") == "y"
        try:
            saved = reviewing.save_review(current_user, assignment,
                                          scores={k: request.form.get(f"score-{k}", "") for k in keys},
                                          comments={k: request.form.get(f"comment-{k}", "") for k in keys},
                                          overall_comment=request.form.get("overall", ""),
                                          submit=submitting and confirmed,
                                          check_complete=submitting)  # fmt: skip
        except ServiceError as error:
            db.session.rollback()
            flash(error.message, "error")
            return _render_review(assignment, errors=error.fields, form=request.form, status=error.status)
        if saved is None:
            return _conflict_found()
        if saved.submitted_at:
            flash(_("Submitted. Thank you."), "success")
        elif submitting:
            flash(_("Your scores are saved as a draft. To submit, tick “I have checked my scores” and press "
                    "“Submit the review” again."), "error")  # fmt: skip
            return redirect(url_for("reviews.review", assignment_id=assignment.id, _anchor="submit"))
        else:
            flash(_("Saved."), "success")
        return redirect(url_for("reviews.review", assignment_id=assignment.id))
    _log_reviewer(assignment, "view")
    return _render_review(assignment)


@bp.route("/reviews/<int:assignment_id>/declaration", methods=["POST"])
@role_required(Role.REVIEWER)
def declaration(assignment_id: int):
    assignment = rules.get_assignment_or_404(assignment_id, current_user)
    validate_csrf(request.form.get("csrf_token"))
    try:
        conflict = reviewing.parse_conflict_answer(request.form.get("conflict"))
        reviewing.declare(current_user, assignment, conflict=conflict, reason=request.form.get("reason", ""),
                          pledge=request.form.get("pledge") == "y")  # fmt: skip
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "error")
        return _render_declaration(assignment, errors=error.fields, form=request.form), error.status
    if conflict:
        flash(_("Thank you. The application has been returned for reassignment."), "success")
        return redirect(url_for("reviews.mine"))
    if not rules.can_read_content(current_user, assignment):
        return _conflict_found()
    return redirect(url_for("reviews.review", assignment_id=assignment.id))


# --- managers -----------------------------------------------------------------------------------


@bp.route("/manage/reviewers", methods=["GET", "POST"])
@role_required(Role.MANAGER, Role.ADMIN)
def pool():
    if request.method == "POST":
        validate_csrf(request.form.get("csrf_token"))
        try:
            reviewer_pool.invite_reviewer(current_user, request.form.get("email", ""))
        except ServiceError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            flash(_("The invitation has been sent to %(email)s.", email=request.form.get("email", "").strip().lower()),
                  "success")  # fmt: skip
        return redirect(url_for("reviews.pool"))
    return render_template("reviews/pool.html", reviewers=reviewer_pool.reviewers())


PER_PAGE = 50  # rows of a manager's list per page


def page_of(total: int, per_page: int = PER_PAGE) -> tuple[int, int]:
    """(the page asked for in ?page=, clamped to 1..pages; the number of pages) for `total` rows."""
    pages = max(1, -(-total // per_page))
    return min(max(request.args.get("page", 1, type=int) or 1, 1), pages), pages


@bp.route("/manage/calls/<int:call_id>/review", methods=["GET", "POST"])
@role_required(Role.MANAGER, Role.ADMIN)
def stage(call_id: int):
    """Eligibility screening and reviewer assignment for a closed call."""
    from ..applications import lifecycle as app_lifecycle
    from ..applications import rules as app_rules
    from ..consortia.rules import user_org_ids
    from ..core import clock

    call = call_rules.get_call_or_404(call_id, current_user, "manage")
    report = None
    if request.method == "POST":
        validate_csrf(request.form.get("csrf_token"))
        try:
            if request.form.get("action") == "assign":
                report = assigning.auto_assign(current_user, call)
                flash(_("%(n)d assignments made.", n=len(report.pairs)), "success")
            elif request.form.get("action") in ("reassign", "reopen"):
                assignment = db.session.get(Assignment, request.form.get("assignment_id", type=int) or 0)
                if assignment is None or assignment.application.call_id != call.id:
                    abort(404)
                if request.form.get("action") == "reassign":
                    assigning.reassign(current_user, assignment, request.form.get("reviewer_id", type=int) or 0)
                else:
                    reviewing.reopen(current_user, assignment, request.form.get("reason", ""))
                flash(_("Saved."), "success")
            else:
                app = db.session.get(Application, request.form.get("application_id", type=int) or 0)
                if app is None or app.call_id != call.id:
                    abort(404)
                eligibility.set_eligibility(current_user, app, eligible=request.form.get("eligible") == "yes",
                                            reason=request.form.get("reason", ""))  # fmt: skip
                flash(_("Saved."), "success")
        except ServiceError as error:
            db.session.rollback()
            flash(error.message, "error")
    # A page of applications (with their seats), each loading only what the page shows: a fixed
    # number of queries whatever the call's size.
    listed = (Application.call_id == call.id, Application.status.in_(tuple(sorted(app_lifecycle.SUBMITTED))))
    page, pages = page_of(db.session.execute(select(func.count(Application.id)).where(*listed)).scalar_one())
    apps = list(db.session.execute(
        select(Application).where(*listed).order_by(Application.number, Application.id)
        .offset((page - 1) * PER_PAGE).limit(PER_PAGE)
        .options(load_only(Application.id, Application.number, Application.status, Application.eligibility_reason,
                           Application.call_id, Application.consortium_id, Application.requested_amount),
                 selectinload(Application.budget_lines).load_only(BudgetLine.quantity, BudgetLine.unit_cost),
                 lazyload(Application.indicators), lazyload(Application.workplan), lazyload(Application.attachments))
    ).scalars())  # fmt: skip
    assignments = list(db.session.execute(
        select(Assignment).where(Assignment.application_id.in_([a.id for a in apps]))
        .order_by(Assignment.application_id, Assignment.seat)
        .options(lazyload(Assignment.application), lazyload(Assignment.review))
    ).scalars())  # fmt: skip
    # While the call is open, a sealed application is listed without its receipt, consortium or checks
    # until this manager opens it with a reason (logged, and shown to the applicant).
    opened, orgs = app_rules.opened_with_reason(current_user, [a.id for a in apps]), user_org_ids(current_user)
    shown = {a.id for a in apps if app_rules.can_list_details(current_user, a, opened, orgs)}
    return render_template("reviews/stage.html", call=call, apps=apps, shown=shown,
                           checks={a.id: eligibility.checks(a) for a in apps if a.id in shown},
                           assignments=assignments, report=report, pool=reviewer_pool.reviewers(), now=clock.now(),
                           to_reassign=assigning.seats_to_reassign(assignments), page=page, pages=pages,
                           # The pool's list is drawn for the seat being reassigned (a link per open seat), not
                           # for every open seat on the page (300 reviewers × 150 seats would be megabytes).
                           reassigning=request.args.get("reassign", type=int))  # fmt: skip


def _ranking_rows(call):
    outcome, apps = compute_ranking(call)
    current = {d.application_id: d for d in db.session.execute(
        select(Decision).join(Application, Application.id == Decision.application_id)
        .where(Application.call_id == call.id)
        .options(lazyload(Decision.application),
                 load_only(Decision.application_id, Decision.status, Decision.version, Decision.outcome,
                           Decision.against_selection, Decision.justification, Decision.exceeds))).scalars()}  # fmt: skip
    return outcome, apps, current


def _confirm_missing_from(form) -> list[dict]:
    return [{"application_id": key.split("-", 1)[1], "reason": value}
            for key, value in form.items() if key.startswith("missing-") and value.strip()]  # fmt: skip


def _apply_page(call, *, errors=None, status=200, missing=None):
    """The confirmation step of "apply the computed selection": what it will decide, and a reason
    for each eligible application that lacks reviews."""
    outcome, apps, current = _ranking_rows(call)
    undecided = [i for i in outcome.items if i.eligible and i.application_id not in current]
    lacking = set(decisions.missing_reviews(outcome)) - set(current)
    return render_template("reviews/apply_confirm.html", call=call, apps=apps, undecided=undecided, lacking=lacking,
                           flagged=set(missing or []), computed=decisions.computed_outcome, errors=errors or {},
                           form=request.form), status  # fmt: skip


@bp.route("/manage/calls/<int:call_id>/ranking", methods=["GET", "POST"])
@role_required(Role.MANAGER, Role.ADMIN)
def ranking(call_id: int):
    call = call_rules.get_call_or_404(call_id, current_user, "manage")
    status = 200
    if request.method == "POST":
        validate_csrf(request.form.get("csrf_token"))
        confirmed = request.form.get("confirm") == "yes"
        if request.form.get("action") == "apply" and not confirmed:
            return _apply_page(call)
        try:
            if not confirmed:
                raise ValidationFailed(_("Tick the box to confirm: applicants are told at once."),
                                       fields={"confirm": [_("Required.")]})  # fmt: skip
            if request.form.get("action") == "apply":
                decisions.decide(current_user, call, apply_selection=True,
                                 confirm_missing=_confirm_missing_from(request.form))  # fmt: skip
            else:
                decisions.decide(current_user, call, [{
                    "application_id": request.form.get("application_id"), "outcome": request.form.get("outcome"),
                    "justification": request.form.get("justification", ""),
                    "version": request.form.get("version") or None}])  # fmt: skip
            flash(_("Decisions saved. Applicants have been told."), "success")
            return redirect(url_for("reviews.ranking", call_id=call.id))
        except ServiceError as error:
            db.session.rollback()
            if request.form.get("action") == "apply" and error.code != "already_decided":
                flash(error.message, "error")
                return _apply_page(call, errors=error.fields, status=error.status,
                                   missing=error.extra.get("application_ids"))  # fmt: skip
            message = " ".join(m for ms in error.fields.values() for m in ms) or error.message
            flash(message, "error")
            status = error.status
    only = request.args.get("show")
    outcome, apps, current = _ranking_rows(call)
    items = [i for i in outcome.items if not only or (only == "selected" and i.selected) or (only == "reserve" and i.reserve)
             or (only == "flagged" and i.flags)]  # fmt: skip
    # The whole ranking is computed (from the stored reviewer totals); the table shows a page of it.
    page, pages = page_of(len(items))
    return render_template("reviews/ranking.html", call=call, outcome=outcome, items=items[(page - 1) * PER_PAGE:page * PER_PAGE],
                           apps=apps, decisions=current, show=only, page=page, pages=pages), status  # fmt: skip


@bp.route("/manage/calls/<int:call_id>/ranking.<fmt>")
@role_required(Role.MANAGER, Role.ADMIN)
def export(call_id: int, fmt: str):
    call = call_rules.get_call_or_404(call_id, current_user, "manage")
    outcome, apps, current = _ranking_rows(call)
    header = ["rank", "receipt", "application_id", "consortium", "title", "requested", "merit", "priority", "final",
              "flags", "selected", "reason", "decision"]  # fmt: skip
    rows = [[i.rank, f"{call.code}-{(apps[i.application_id].number or 0):04d}", i.application_id,
             apps[i.application_id].consortium_name, apps[i.application_id].title, i.requested_amount, scoring.shown(i.merit),
             scoring.shown(i.priority), scoring.shown(i.final), " ".join(i.flags), "yes" if i.selected else "no", i.reason,
             (current[i.application_id].outcome or "") if i.application_id in current else ""] for i in outcome.items]  # fmt: skip
    return table_response(f"{call.code}-ranking", header, rows, fmt)


# --- applicants and the public ---------------------------------------------------------------------


@bp.route("/applications/<int:app_id>/result", methods=["GET", "POST"])
@login_required
def result(app_id: int):
    from ..applications.rules import get_application_or_404

    app, found = get_application_or_404(app_id, current_user, "edit")
    decision = decisions.decision_of(app.id)
    if decision is None:
        abort(404)
    status = 200
    if request.method == "POST":
        validate_csrf(request.form.get("csrf_token"))
        try:
            appeal_services.appeal(current_user, app, request.form.get("reason", ""))
        except ServiceError as error:
            db.session.rollback()
            flash(error.message, "error")
            status = error.status
            decision = decisions.decision_of(app.id)
        else:
            flash(_("Your appeal has been sent. The programme will answer it."), "success")
            return redirect(url_for("reviews.result", app_id=app.id))
    appeal = appeal_services.appeal_of(app.id, decision)
    earlier = [a for a in appeal_services.appeals_of_application(app.id) if appeal is None or a.id != appeal.id]
    deadline = appeal_services.appeal_deadline(app.call, decision)
    return render_template("reviews/result.html", app=app, decision=decision, e=decision.explanation, appeal=appeal,
                           earlier=earlier, appeal_open=rules.can_appeal(found, decision, appeal, deadline),
                           appeal_deadline=deadline), status  # fmt: skip


@bp.route("/applications/<int:app_id>/eligibility", methods=["GET", "POST"])
@login_required
def eligibility_result(app_id: int):
    """The applicant reads the eligibility result with its reason and may appeal an
    ineligibility within the call's appeal window."""
    from ..applications.rules import get_application_or_404
    from . import eligibility as eligibility_services

    app, found = get_application_or_404(app_id, current_user, "edit")
    eligible, reason, decided_at = eligibility_services.result(app)
    if eligible is None:
        abort(404)  # not screened yet
    status = 200
    if request.method == "POST":
        validate_csrf(request.form.get("csrf_token"))
        try:
            appeal_services.appeal(current_user, app, request.form.get("reason", ""))
        except ServiceError as error:
            db.session.rollback()
            flash(error.message, "error")
            status = error.status
        else:
            flash(_("Your appeal has been sent. The programme will answer it."), "success")
            return redirect(url_for("reviews.eligibility_result", app_id=app.id))
    appeal = appeal_services.eligibility_appeal(app.id)
    deadline = appeal_services.eligibility_appeal_deadline(app)
    return render_template("reviews/eligibility.html", app=app, eligible=eligible, reason=reason, decided_at=decided_at,
                           appeal=appeal, deadline=deadline,
                           appeal_open=rules.can_appeal_eligibility(found, appeal, deadline)), status  # fmt: skip


@bp.route("/manage/calls/<int:call_id>/appeals", methods=["GET", "POST"])
@role_required(Role.MANAGER, Role.ADMIN)
def appeals(call_id: int):
    from .models import Appeal

    call = call_rules.get_call_or_404(call_id, current_user, "manage")
    if request.method == "POST":
        validate_csrf(request.form.get("csrf_token"))
        item = db.session.get(Appeal, request.form.get("appeal_id", type=int) or 0)
        if item is None or item.application_id not in {a.id for _ap, a in appeal_services.appeals_of(call)}:
            abort(404)
        try:
            if request.form.get("confirm") != "yes":
                raise ValidationFailed(_("Tick the box to confirm: the applicant is told at once."),
                                       fields={"confirm": [_("Required.")]})  # fmt: skip
            appeal_services.answer_appeal(current_user, item, outcome=request.form.get("outcome", ""),
                                          answer=request.form.get("answer", ""))  # fmt: skip
        except ServiceError as error:
            db.session.rollback()
            flash(error.message, "error")
            return render_template("reviews/appeals.html", call=call, rows=appeal_services.appeals_of(call),
                                   form=request.form), error.status  # fmt: skip
        flash(_("Saved."), "success")
        return redirect(url_for("reviews.appeals", call_id=call.id))
    return render_template("reviews/appeals.html", call=call, rows=appeal_services.appeals_of(call), form={})


@bp.route("/calls/<int:call_id>/results")
def public_results(call_id: int):
    call = call_rules.get_call_or_404(call_id, current_user)
    counts = appeal_services.appeal_counts([item for item, _app in appeal_services.appeals_of(call)])
    rows = decisions.public_results(call)
    return render_template("reviews/public_results.html", call=call, rows=rows, appeal_counts=counts,
                           upheld=appeal_services.upheld_outcomes(call) if counts["upheld"] else None,
                           figures=decisions.result_figures(rows))  # fmt: skip


@bp.route("/calls/<int:call_id>/results.csv")
def public_results_csv(call_id: int):
    """Open data: the public results as CSV (the same content as the API's JSON)."""
    call = call_rules.get_call_or_404(call_id, current_user)
    columns = ["receipt", "title", "consortium", "lead", "region", "amount", "merit", "priority", "final", "rank", "outcome",
               "against_selection", "justification"]  # fmt: skip
    rows = [[row[c] for c in columns] + [" ".join(row["exceeds"])] for row in decisions.public_results(call)]
    return table_response(f"{call.code}-results", [*columns, "exceeds"], rows, "csv")


from . import downloads  # noqa: E402,F401  (the reviewer's stamped files, on this blueprint)
