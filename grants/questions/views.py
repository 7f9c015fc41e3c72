"""Pages: the ask form on a call's page, the managers' list of a call's questions."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..accounts.models import Role
from ..calls import rules as call_rules
from ..core.access import role_required
from ..core.errors import ServiceError
from ..extensions import db, limiter
from . import rules, services
from .forms import AnswerForm, AskForm, RejectForm

bp = Blueprint("questions", __name__)


@bp.app_context_processor
def _helpers():
    return {**rules.template_helpers(), "call_questions": services.published, "my_call_questions": services.mine,
            "pending_question_counts": services.pending_counts, "QuestionForm": AskForm}  # fmt: skip


def _per_person() -> str:
    """Counted per signed-in person (many people share one address)."""
    return f"user:{current_user.get_id()}"


@bp.route("/calls/<int:call_id>/questions", methods=["POST"])
@login_required
@limiter.limit("10 per hour;30 per day", key_func=_per_person)
def ask(call_id: int):
    call = call_rules.get_call_or_404(call_id, current_user)
    if not rules.can_ask(current_user, call):
        abort(404)
    form = AskForm()
    if form.validate_on_submit():
        try:
            services.ask(current_user._get_current_object(), call, form.text.data)
        except ServiceError as error:
            db.session.rollback()
            form.text.errors = list(error.fields.get("text", [error.message]))
            return render_template("questions/ask.html", call=call, form=form), error.status
        flash(_("Your question has been sent. If it is answered, the answer will be published on this page."),
              "success")  # fmt: skip
        return redirect(url_for("calls.show", call_id=call.id) + "#questions")
    return render_template("questions/ask.html", call=call, form=form), 422


def _manage_page(call, status: int = 200, **forms):
    pending, done = services.for_managers(call.id)
    return render_template("questions/manage.html", call=call, pending=pending, done=done,
                           AnswerForm=AnswerForm, RejectForm=RejectForm, **forms), status  # fmt: skip


@bp.route("/manage/calls/<int:call_id>/questions")
@role_required(Role.MANAGER, Role.ADMIN)
def manage(call_id: int):
    call = call_rules.get_call_or_404(call_id, current_user, "manage")
    return _manage_page(call)


def _question_for_manager(question_id: int):
    question = rules.get_question_or_404(question_id, current_user)
    call = call_rules.get_call_or_404(question.call_id, current_user, "manage")
    return question, call


@bp.route("/manage/questions/<int:question_id>/answer", methods=["POST"])
@role_required(Role.MANAGER, Role.ADMIN)
def answer(question_id: int):
    question, call = _question_for_manager(question_id)
    form = AnswerForm(prefix=f"q{question.id}")
    if not form.validate_on_submit():
        return _manage_page(call, 422, failed=question.id, failed_form=form)
    editing = rules.can_edit_answer(current_user, question)
    try:
        if editing:
            services.edit_answer(current_user._get_current_object(), question, form.answers(), form.public_text.data)
        else:
            services.answer(current_user._get_current_object(), question, form.answers(), form.public_text.data)
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "error")
        return _manage_page(call, error.status, failed=question.id, failed_form=form)
    flash(_("Saved.") if editing else _("The answer is published on the call's page and is being sent."), "success")
    return redirect(url_for("questions.manage", call_id=call.id))


@bp.route("/manage/questions/<int:question_id>/reject", methods=["POST"])
@role_required(Role.MANAGER, Role.ADMIN)
def reject(question_id: int):
    question, call = _question_for_manager(question_id)
    form = RejectForm(prefix=f"r{question.id}")
    if not form.validate_on_submit():
        return _manage_page(call, 422, failed=question.id, failed_reject=form)
    try:
        services.reject(current_user._get_current_object(), question, form.reason.data)
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "error")
        return _manage_page(call, error.status, failed=question.id, failed_reject=form)
    flash(_("The question will not be published. The reason is being sent to the person who asked."), "success")
    return redirect(url_for("questions.manage", call_id=call.id))
