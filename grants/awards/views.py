from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf.csrf import validate_csrf

from ..accounts.models import Role
from ..calls import rules as call_rules
from ..core import clock, uploads
from ..core.access import role_required
from ..core.errors import ServiceError, ValidationFailed
from ..core.export import table_response
from ..extensions import db
from ..i18n import current_locale, display_zone
from . import issuing, lifecycle, payments, rules, services

bp = Blueprint("awards", __name__)


def progress(award) -> list[tuple[str, float, float, float | None]]:
    """(indicator, target, latest reported value, % of target)."""
    latest = {}
    for report in award.reports:
        if report.status in lifecycle.REPORT_IN:
            latest.update(report.indicators or {})
    out = []
    for indicator in award.application.indicators:
        target = float(indicator.target)
        value = latest.get(indicator.name)
        pct = round(100 * (value - float(indicator.baseline)) / (target - float(indicator.baseline)), 1) \
            if value is not None and target != float(indicator.baseline) else None  # fmt: skip
        out.append((indicator.name, target, value, pct))
    return out


def _bound(predicate):
    """A rules predicate asked about the signed-in user, for templates."""
    return lambda *args: predicate(current_user, *args)


@bp.app_context_processor
def _helpers():
    return {
        "award_progress": progress,
        "award_overdue": lifecycle.overdue,
        "award_status": lifecycle.award_label,
        "tranche_status": lifecycle.tranche_label,
        "report_status": lifecycle.report_label,
        "tranche_condition": lambda t: str(lifecycle.CONDITION_LABELS.get(t.condition, t.condition)),
        "can_edit_award": _bound(rules.can_edit_award),
        "can_issue_letter": _bound(rules.can_issue_letter),
        "can_mark_paid": _bound(rules.can_mark_paid),
        "can_reverse_payment": _bound(rules.can_reverse_payment),
        "can_edit_report": _bound(rules.can_edit_report),
        "can_review_report": _bound(rules.can_review_report),
        "report_shows_content": rules.report_shows_content,
    }


def _confirmed() -> None:
    """Irreversible manager actions need the ticked confirmation box (works without JavaScript)."""
    if request.form.get("confirm") != "1":
        raise ValidationFailed(_("Tick the box to confirm."), fields={"confirm": [_("Tick the box to confirm.")]},
                               code="confirmation_required")  # fmt: skip


@bp.route("/manage/calls/<int:call_id>/awards", methods=["GET", "POST"])
@role_required(Role.MANAGER, Role.ADMIN)
def dashboard(call_id: int):
    call = call_rules.get_call_or_404(call_id, current_user, "manage")
    if request.method == "POST":
        validate_csrf(request.form.get("csrf_token"))
        if request.form.get("action") == "create":
            made = services.create_from_decisions(current_user, call)
            flash(_("%(n)d awards created from the decisions.", n=len(made)), "success")
        elif request.form.get("action") == "letters":
            if request.form.get("confirm") != "1":
                flash(_("Tick the box to confirm."), "error")
                return redirect(url_for("awards.dashboard", call_id=call.id))
            from kombu.exceptions import OperationalError

            from ..core.tasks import enqueue

            try:
                enqueue("grants.issue_letters", call.id, current_user.id)
            except (OperationalError, OSError):  # the broker is down: nothing was started
                current_app.logger.warning("issue_letters for call %s not queued: broker down", call.id, exc_info=True)
                flash(_("The letters could not be started: the task service is not reachable. Please try again "
                        "in a few minutes."), "error")  # fmt: skip
                return redirect(url_for("awards.dashboard", call_id=call.id))
            flash(_("The letters are being generated; this page shows the progress."), "success")
        return redirect(
            url_for(
                "awards.dashboard", call_id=call.id, waiting="1" if request.form.get("action") == "letters" else None
            )
        )
    awards = services.awards_of_call(call)
    issued = sum(1 for a in awards if a.letter)
    return render_template("awards/dashboard.html", call=call, awards=awards, issued=issued,
                           waiting=request.args.get("waiting") == "1" and issued < len(awards),
                           committed=sum(a.amount for a in awards), disbursed=sum(a.disbursed for a in awards))  # fmt: skip


@bp.route("/manage/calls/<int:call_id>/awards.<fmt>")
@role_required(Role.MANAGER, Role.ADMIN)
def export(call_id: int, fmt: str):
    call = call_rules.get_call_or_404(call_id, current_user, "manage")
    header = ["agreement", "consortium", "lead", "region", "amount", "disbursed", "status", "overdue", "indicators"]
    rows = []
    for a in services.awards_of_call(call):
        consortium = a.application.consortium
        indicators = "; ".join(f"{name}: {pct if pct is not None else '-'}%" for name, _t, _v, pct in progress(a))
        rows.append([a.agreement_number, consortium.name, consortium.lead.name, consortium.lead.region, a.amount,
                     a.disbursed, lifecycle.award_label(a.status), "; ".join(lifecycle.overdue(a)), indicators])  # fmt: skip
    return table_response(f"{call.code}-awards", header, rows, fmt)


@bp.route("/awards")
@login_required
def mine():
    return render_template("awards/mine.html", awards=services.awards_of(current_user))


@bp.route("/awards/<int:award_id>", methods=["GET", "POST"])
@login_required
def show(award_id: int):
    award = rules.get_award_or_404(award_id, current_user)
    status = 200
    autosave = request.headers.get("X-Autosave") == "1"
    if request.method == "POST":
        if not (rules.can_manage(current_user) or rules.is_lead_member(current_user, award)):
            abort(403)  # may read the award (a partner) but never act on it
        validate_csrf(request.form.get("csrf_token"))
        action = request.form.get("action", "")
        try:
            if action == "paid":
                rules.get_award_or_404(award_id, current_user, "manage")
                _confirmed()
                payments.mark_paid(current_user, award, request.form.get("n", type=int),
                                   request.form.get("paid_on", ""))  # fmt: skip
            elif action == "reverse":
                rules.get_award_or_404(award_id, current_user, "manage")
                _confirmed()
                payments.reverse_payment(current_user, award, request.form.get("n", type=int),
                                         request.form.get("reason", ""))  # fmt: skip
            elif action == "letter":
                rules.get_award_or_404(award_id, current_user, "manage")
                _confirmed()
                issuing.issue_letter(current_user, award, request.form.get("language") or None,
                                      seen_version=request.form.get("seen", 0, type=int))  # fmt: skip
            elif action == "edit":
                rules.get_award_or_404(award_id, current_user, "manage")
                services.update(current_user, award, {k: request.form.get(k) for k in
                                                      ("agreement_number", "amount", "starts_on", "ends_on")}
                                | {"percents": request.form.getlist("percent")},
                                version=request.form.get("version"))  # fmt: skip
            elif action in ("report", "save"):
                rules.get_award_or_404(award_id, current_user, "report")
                names = [i.name for i in award.application.indicators]
                report = services.save_report(
                    current_user, award, kind=request.form.get("kind", ""), narrative=request.form.get("narrative", ""),
                    indicators={n: request.form.get(f"indicator-{i}") for i, n in enumerate(names)},
                    version=request.form.get("version"), submit=action == "report",
                )  # fmt: skip
                if autosave:
                    return jsonify(
                        {
                            "version": report.version,
                            "saved_at": clock.now().astimezone(display_zone()).strftime("%H:%M"),
                        }
                    )
            elif action == "report_file":
                rules.get_award_or_404(award_id, current_user, "report")
                services.add_report_file(current_user, award, request.form.get("kind", ""), request.files.get("file"))
            elif action in ("approve", "return"):
                rules.get_award_or_404(award_id, current_user, "manage")
                services.review_report(current_user, award, request.form.get("kind", ""), approve=action == "approve",
                                       note=request.form.get("note", ""))  # fmt: skip
            else:
                abort(400)
        except ServiceError as error:
            db.session.rollback()
            if autosave:
                return jsonify(
                    {"error": {"code": error.code, "message": error.message, "fields": error.fields}}
                ), error.status
            flash(" ".join(m for ms in error.fields.values() for m in ms) or error.message, "error")
            status = error.status
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("awards.show", award_id=award.id))
    return render_template(
        "awards/show.html", award=award, manager=rules.can_manage(current_user),
        seen_version=issuing.latest_version(award),
    ), status  # fmt: skip


@bp.route("/awards/<int:award_id>/letter.pdf")
@login_required
def letter(award_id: int):
    award = rules.get_award_or_404(award_id, current_user)
    current = award.letter
    if current is None:
        abort(404)
    data = issuing.letter_pdf(award, current, request.args.get("lang"))
    return uploads.download(data, name=f"letter-{award.agreement_number.replace('/', '-')}.pdf",
                            content_type="application/pdf")  # fmt: skip


@bp.route("/verify/<code>")
def verify(code: str):
    """Public: confirms a letter's number, recipient, amount and SHA-256 — or says plainly
    that the code is unknown or was superseded by a newer version."""
    found = issuing.find_letter(code)
    if found is None:
        return render_template("awards/verify.html", letter=None, code=code[:40]), 404
    from .letters import snapshot_for
    from .models import Award

    stated = snapshot_for(found, db.session.get(Award, found.award_id))
    return render_template("awards/verify.html", letter=found, stated=stated, code=found.verification_code,
                           locale=current_locale())  # fmt: skip


@bp.route("/awards/<int:award_id>/reports/<kind>/files/<int:file_id>")
@login_required
def report_file(award_id: int, kind: str, file_id: int):
    award = rules.get_award_or_404(award_id, current_user)
    report = next((r for r in award.reports if r.kind == kind), None)
    item = next((f for f in report.files if f.id == file_id), None) if report else None
    if item is None:
        abort(404)
    return uploads.send(item.path, name=item.filename, content_type=item.content_type)
