"""Funding decisions: applying the computed selection (guarded against missing reviews), deciding
one by one (justified against the selection or beyond a cap), versions, and the public results.

Every decision of a call is taken under the call's row lock, so the caps are counted on what
other managers committed a moment ago, and a decision names the version it changes (stale → 409)."""

from __future__ import annotations

from fractions import Fraction

from flask_babel import gettext as _
from sqlalchemy import select

from .. import mail
from ..accounts.models import User
from ..applications import lifecycle as app_lifecycle
from ..applications.models import Application
from ..audit.services import record
from ..calls import lifecycle as call_lifecycle
from ..calls.models import Call
from ..consortia.models import Consortium
from ..consortia.rules import lead_member_query
from ..core import clock
from ..core.db import transactional
from ..core.errors import Conflict, ValidationFailed
from ..core.urls import external_url
from ..extensions import db
from . import lifecycle, scoring
from .eligibility import require_stage
from .lifecycle import DecisionStatus, lock
from .models import Assignment, Decision, DecisionVersion, Review
from .ranking import ranking

OUTCOMES = ("award", "reserve", "reject")
TARGET = {"award": app_lifecycle.Status.AWARDED, "reserve": app_lifecycle.Status.RESERVE,
          "reject": app_lifecycle.Status.REJECTED}  # fmt: skip
CAPS = ("budget", "max_awards", "consortium_cap", "max_consortia")
MAX_ID = 2**31 - 1


def computed_outcome(item: scoring.Scored) -> str:
    if item.selected:
        return "award"
    return "reserve" if item.reserve else "reject"


def missing_reviews(outcome: scoring.Outcome) -> list[int]:
    """Eligible applications that have fewer submitted reviews than the call requires."""
    return [item.application_id for item in outcome.items if item.eligible and "incomplete" in item.flags]


def _explanation(call: Call, item: scoring.Scored) -> dict:
    """What the applicant reads: per-criterion scores by reviewer seat, totals, merit,
    priority with its reasons, final, rank, and the reviewers' comments (anonymised)."""
    rows = db.session.execute(
        select(Assignment.seat, Review.scores, Review.comments, Review.overall_comment)
        .join(Review, Review.assignment_id == Assignment.id)
        .where(Assignment.application_id == item.application_id, Review.submitted_at.is_not(None))
        .order_by(Assignment.seat)
    ).all()  # fmt: skip
    return {
        "criteria": [{"key": c.key, "weight": c.weight, "max_score": c.max_score,
                      "title": {lang: getattr(c, f"title_{lang}") for lang in ("kk", "ru", "en")}} for c in call.criteria],
        "reviews": [{"seat": seat, "scores": scores, "comments": comments, "overall": overall}
                    for seat, scores, comments, overall in rows],
        "totals": [scoring.shown(t) for t in item.totals], "merit": scoring.shown(item.merit),
        "priority": scoring.shown(item.priority), "priority_reasons": item.priority_reasons,
        "final": scoring.shown(item.final), "rank": item.rank, "flags": item.flags, "reason": item.reason,
        "quality_threshold": scoring.shown(Fraction(str(call.quality_threshold))),
    }  # fmt: skip


def _app_id(value) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if 0 < number <= MAX_ID else None


def _version(value) -> int | None | bool:
    """The version the manager saw: None (no decision yet), a number, or False when invalid."""
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        return False
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return False
    return number if 0 <= number <= MAX_ID else False


def _confirmed_missing(rows) -> dict[int, str]:
    """{application id: reason} from confirm_missing: [{application_id, reason}]."""
    out, errors = {}, {}
    for i, row in enumerate(rows or []):
        row = row if isinstance(row, dict) else {}
        app_id = _app_id(row.get("application_id"))
        reason = row.get("reason")
        reason = reason.strip() if isinstance(reason, str) else ""
        if app_id is None:
            errors[f"confirm_missing.{i}.application_id"] = [_("Not an application of this call.")]
        elif not reason:
            errors[f"confirm_missing.{i}.reason"] = [_("Give the reason for deciding without every review.")]
        else:
            out[app_id] = reason[:2000]
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), fields=errors)
    return out


def _wanted_rows(decisions, by_id) -> list[dict]:
    errors: dict[str, list[str]] = {}
    wanted = []
    for i, row in enumerate(decisions or []):
        row = row if isinstance(row, dict) else {}
        app_id = _app_id(row.get("application_id"))
        result = row.get("outcome")
        if app_id not in by_id:
            errors[f"decisions.{i}.application_id"] = [_("Not an application of this call.")]
            continue
        if result not in OUTCOMES:
            errors[f"decisions.{i}.outcome"] = [_("Choose award, reserve or reject.")]
            continue
        version = _version(row.get("version"))
        if version is False:
            errors[f"decisions.{i}.version"] = [_("Not a valid version.")]
            continue
        justification = row.get("justification")
        justification = justification.strip()[:10000] if isinstance(justification, str) else ""
        if result != computed_outcome(by_id[app_id]) and not justification:
            errors[f"decisions.{i}.justification"] = [_("A decision against the selection needs a written justification, which will be public.")]  # fmt: skip
        if any(w["application_id"] == app_id for w in wanted):
            errors[f"decisions.{i}.application_id"] = [_("This application is named twice.")]
        wanted.append({"index": i, "application_id": app_id, "outcome": result, "justification": justification,
                       "version": version, "missing_reason": None})  # fmt: skip
    if not wanted and not errors:
        errors["decisions"] = [_("Nothing to decide.")]
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), fields=errors)
    return wanted


def _check_caps(call: Call, wanted: list[dict], by_id: dict, current: dict[int, Decision]) -> None:
    """Manual and computed decisions alike stay within the envelope, max_awards, the
    per-consortium cap and max_consortia, counted on every award of the call (the call row is
    locked); an award beyond a cap needs a justification, which the public results show."""
    changing = {w["application_id"] for w in wanted}
    awarded = [by_id[app_id] for app_id, d in current.items()
               if d.status == DecisionStatus.DECIDED and d.outcome == "award"
               and app_id not in changing and app_id in by_id]  # fmt: skip
    budget = sum(item.requested_amount for item in awarded)
    per_consortium: dict[int, int] = {}
    for item in awarded:
        per_consortium[item.consortium_id] = per_consortium.get(item.consortium_id, 0) + 1
    count, errors, refused = len(awarded), {}, []
    for w in wanted:
        if w["outcome"] != "award":
            continue
        item = by_id[w["application_id"]]
        breaches = []
        if budget + item.requested_amount > call.envelope:
            breaches.append("budget")
        if count + 1 > call.max_awards:
            breaches.append("max_awards")
        if per_consortium.get(item.consortium_id, 0) + 1 > call.max_awards_per_consortium:
            breaches.append("consortium_cap")
        if item.consortium_id not in per_consortium and len(per_consortium) + 1 > call.max_consortia:
            breaches.append("max_consortia")
        if breaches and not w["justification"]:
            errors[f"decisions.{w['index']}.justification"] = [
                _("This award would go beyond a limit of the call (%(limits)s). Give a justification, which will be public.",
                  limits=", ".join(cap_label(b) for b in breaches))]  # fmt: skip
            refused.append(w["application_id"])
        w["exceeds"] = breaches
        budget += item.requested_amount
        count += 1
        per_consortium[item.consortium_id] = per_consortium.get(item.consortium_id, 0) + 1
    if errors:
        raise Conflict(_("These awards would go beyond the call's limits: the budget, the number of grants or of "
                         "consortia. Decide otherwise, or justify each one publicly."),
                       code="cap_exceeded", fields=errors, extra={"application_ids": refused})  # fmt: skip


def cap_label(code: str) -> str:
    return {"budget": _("the budget"), "max_awards": _("the maximum number of grants"),
            "consortium_cap": _("the grants per consortium"), "max_consortia": _("the number of funded consortia")}.get(code, code)  # fmt: skip


def _stale(decision: Decision) -> Conflict:
    return Conflict(_("Someone else changed this decision meanwhile (it is now version %(version)d). Reload the page "
                      "and check it before deciding again.", version=decision.version),
                    code="stale", extra={"version": decision.version})  # fmt: skip


@transactional
def decide(actor, call: Call, decisions: list[dict] | None = None, *, apply_selection: bool = False,
           confirm_missing: list[dict] | None = None) -> list[Decision]:  # fmt: skip
    """Record decisions. `apply_selection` decides every eligible application that has no
    decision yet as computed, refused (409 `reviews_missing`) while one of them lacks its
    required reviews unless `confirm_missing` gives a reason for each; otherwise each
    {application_id, outcome, justification, version}. A decision against the selection or
    beyond a cap needs a written justification (public). A change names the version it replaces
    (409 `stale` otherwise). Two managers at once: the call's row lock orders them; the second
    sees the first's decisions."""
    lock(call)
    require_stage(call, call_lifecycle.Status.IN_REVIEW, call_lifecycle.Status.DECIDED)
    outcome, _apps = ranking(call)
    by_id = {item.application_id: item for item in outcome.items}
    current = {d.application_id: d for d in db.session.execute(
        select(Decision).join(Application, Application.id == Decision.application_id)
        .where(Application.call_id == call.id).with_for_update(of=Decision)
        .execution_options(populate_existing=True)).scalars()}  # fmt: skip
    if apply_selection:
        undecided = [item for item in outcome.items if item.eligible and item.application_id not in current]
        if not undecided:
            raise Conflict(_("Every eligible application already has a decision."), code="already_decided")
        reasons = _confirmed_missing(confirm_missing)
        missing = [a for a in missing_reviews(outcome) if a not in current]
        unconfirmed = [a for a in missing if a not in reasons]
        if unconfirmed:
            raise Conflict(_("Some eligible applications do not have all their reviews yet. Wait for the reviews, or "
                             "confirm each of them with a reason."),
                           code="reviews_missing", extra={"application_ids": unconfirmed})  # fmt: skip
        wanted = [{"index": i, "application_id": item.application_id, "outcome": computed_outcome(item),
                   "justification": "", "version": None, "missing_reason": reasons.get(item.application_id)}
                  for i, item in enumerate(undecided)]  # fmt: skip
    else:
        wanted = _wanted_rows(decisions, by_id)
    for w in wanted:
        decision = current.get(w["application_id"])
        if decision is not None and w["version"] != decision.version:
            raise _stale(decision)
        if decision is None and w["version"] not in (None, 0):
            raise Conflict(_("This decision does not exist any more. Reload the page."), code="stale")
    _check_caps(call, wanted, by_id, current)
    apps = {a.id: a for a in db.session.execute(
        select(Application).where(Application.id.in_([w["application_id"] for w in wanted]))
        .with_for_update(of=Application)
        .execution_options(populate_existing=True)).scalars()}  # fmt: skip
    made, now = [], clock.now()
    for w in wanted:
        item = by_id[w["application_id"]]
        made.append(_write(actor, call, item, w, current.get(w["application_id"]), apps[w["application_id"]], now))
    if call_lifecycle.effective_status(call) == call_lifecycle.Status.IN_REVIEW:
        call_lifecycle.transition(call, call_lifecycle.Status.DECIDED, actor, locked=True)
    _tell_applicants(made)
    return made


def _write(actor, call: Call, item: scoring.Scored, w: dict, decision: Decision | None, app: Application, now):
    result, justification = w["outcome"], w["justification"]
    values = {"outcome": result, "justification": justification, "against_selection": result != computed_outcome(item),
              "exceeds": w.get("exceeds") or [], "reviews_missing_reason": w["missing_reason"],
              "decided_by_id": actor.id, "decided_at": now}  # fmt: skip
    if decision is None:
        decision = Decision(application_id=app.id, version=1, explanation=_explanation(call, item), **values)
        db.session.add(decision)
        db.session.flush()
        record(actor, "decision.made", "decision", decision.id,
               after={"application": app.id, "version": 1, "outcome": result, "justification": justification,
                      "against_selection": values["against_selection"], "exceeds": values["exceeds"]})  # fmt: skip
    else:
        event = "decide" if decision.status == DecisionStatus.REOPENED else "revise"
        explanation = _explanation(call, item)  # queries first: nothing half-changed is flushed
        for key, value in values.items():
            setattr(decision, key, value)
        decision.version += 1
        decision.explanation = explanation
        lifecycle.transition_decision(decision, event, actor, locked=True, justification=justification,
                                      against_selection=values["against_selection"])  # fmt: skip
    db.session.add(DecisionVersion(decision_id=decision.id, version=decision.version, **values))
    _move_application(actor, app, result, justification)
    return decision


def _move_application(actor, app: Application, result: str, justification: str) -> None:
    """The application follows its decision through the applications lifecycle; a changed
    decision goes through "reviewed" again."""
    target = TARGET[result]
    if app.status == target:
        return
    if app_lifecycle.is_decided(app) or app.status in (app_lifecycle.Status.ELIGIBLE, app_lifecycle.Status.IN_REVIEW):
        app_lifecycle.transition(app, app_lifecycle.Status.REVIEWED, actor, locked=True)
    app_lifecycle.transition(app, target, actor, locked=True, justification=justification or None)


def reopen_for_appeal(actor, decision: Decision, app: Application, *, locked: bool = False) -> None:
    """An upheld appeal: the decision is reopened (a new version is needed) and the application
    goes back to "reviewed". Callers hold the call's lock."""
    if not locked:
        lock(decision)
    decision.outcome = None
    lifecycle.transition_decision(decision, "reopen", actor, locked=True)
    lock(app)
    if app_lifecycle.is_decided(app):
        app_lifecycle.transition(app, app_lifecycle.Status.REVIEWED, actor, locked=True, reason="appeal upheld")


def _tell_applicants(decisions: list[Decision]) -> None:
    """Emails go out after the commit (mail.send waits for it)."""
    if not decisions:
        return
    app_ids = [d.application_id for d in decisions]
    rows = db.session.execute(
        lead_member_query(User.email, User.locale, Application.id)
        .join(Application, Application.consortium_id == Consortium.id)
        .where(Application.id.in_(app_ids))
    ).all()  # fmt: skip
    outcomes = {d.application_id: d for d in decisions}
    for email, locale, app_id in rows:
        decision = outcomes[app_id]
        mail.send(email, "decision", locale, decision=decision, app=decision.application,
                  link=external_url("reviews.result", app_id=app_id))  # fmt: skip


def decision_of(app_id: int) -> Decision | None:
    return db.session.execute(select(Decision).filter_by(application_id=app_id)).scalar_one_or_none()


def history(decision: Decision) -> list[DecisionVersion]:
    return list(db.session.execute(select(DecisionVersion).filter_by(decision_id=decision.id)
                                   .order_by(DecisionVersion.version)).scalars())  # fmt: skip


def public_results(call: Call) -> list[dict]:
    """Funded projects with consortia, amounts and scores, and every decision taken against
    the selection or beyond a cap with its justification."""
    rows = db.session.execute(
        select(Decision, Application).join(Application, Application.id == Decision.application_id)
        .where(Application.call_id == call.id, Decision.status == DecisionStatus.DECIDED).order_by(Application.number)
    ).all()  # fmt: skip
    out = []
    for decision, app in rows:
        if decision.outcome != "award" and not decision.against_selection:
            continue
        out.append({
            "application_id": app.id, "receipt": f"{call.code}-{(app.number or 0):04d}", "title": app.title,
            "consortium": app.consortium.name, "lead": app.consortium.lead.name,
            "members": [m.organization.name for m in app.consortium.members],
            "amount": app.requested_amount if decision.outcome == "award" else 0, "outcome": decision.outcome,
            "merit": decision.explanation.get("merit"), "priority": decision.explanation.get("priority"),
            "final": decision.explanation.get("final"), "rank": decision.explanation.get("rank"),
            "against_selection": decision.against_selection, "justification": decision.justification,
            "exceeds": list(decision.exceeds or []), "version": decision.version,
            "region": app.consortium.lead.region, "women_led": app.consortium.lead.women_led_verified,
            "youth_led": app.consortium.lead.youth_led_verified,
        })  # fmt: skip
    return sorted(out, key=lambda r: r["rank"] or 0)


def result_figures(rows: list[dict]) -> dict:
    """Funded amounts by region and counts by verified women-/youth-led status (for charts)."""
    funded = [r for r in rows if r["outcome"] == "award"]
    by_region: dict[str, int] = {}
    for r in funded:
        by_region[r["region"]] = by_region.get(r["region"], 0) + r["amount"]
    return {
        "by_region": sorted(by_region.items(), key=lambda kv: -kv[1]),
        "women_led": sum(1 for r in funded if r["women_led"]),
        "youth_led": sum(1 for r in funded if r["youth_led"]),
        "funded": len(funded),
    }
