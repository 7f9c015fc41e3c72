"""Who may apply to a call: the call's eligibility rules, in one place.

The same rules answer three questions: "can we apply?" on the call page and in the API, before
anyone writes (`check`, from what an NGO knows then: its organization, the planned number of
consortium members, the amount it means to ask for); "may this be submitted?" at submission
(`applications.submission.problems` asks the rules one by one); and the manager's screening
after the deadline (`for_application`). Each rule is a small function `(call, facts) -> Reason
| None` with a stable code the API returns; its message is translated and names the rule's values.

A rule whose fact is unknown (None) is not judged: the check asks for every fact it judges, and
an application always has them.

Extension point: the call's own questions (issue 16, item 2) add their rules to `rules_of(call)`
and read the NGO's answers from `Facts.answers`; nothing else here needs to change. Rules the
call has no column for are not checked: a per-call list of legal forms and "funded before" need
a migration first (the programme-wide legal-form rule, no initiative group as the lead, is here)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _

from ..core import clock
from ..core.errors import ValidationFailed
from ..i18n import current_locale, format_datetime, format_money, format_number
from ..organizations.reference import region_name
from . import lifecycle
from .models import Call

MAX_MEMBERS = 100  # more than any call allows; bigger answers are refused as input
MAX_AMOUNT = 10**13  # the API's MONEY bound


@dataclass(frozen=True)
class Reason:
    code: str
    message: str


@dataclass(frozen=True)
class Result:
    eligible: bool
    reasons: list[Reason]

    def as_json(self) -> dict:
        return {"eligible": self.eligible, "reasons": [{"code": r.code, "message": r.message} for r in self.reasons]}


@dataclass(frozen=True)
class Facts:
    """What the rules look at, about the organization that would lead the application."""

    region: str | None = None
    legal_form: str | None = None
    members: int | None = None  # the consortium's organizations, the lead included
    amount: int | None = None  # the requested amount
    now: datetime | None = None  # when the question is asked (a submission: when it arrived)
    answers: dict = field(default_factory=dict)  # everything the NGO answered (the call's own questions, later)


Rule = Callable[[Call, Facts], "Reason | None"]


# --- the rules ---------------------------------------------------------------------------------


def deadline_passed_message(call: Call) -> str:
    return _(
        "The deadline passed at %(when)s. Applications are no longer accepted.", when=format_datetime(call.closes_at)
    )


def call_closed(call: Call, facts: Facts) -> Reason | None:
    """Applications are taken while the call is published and its deadline has not passed."""
    if facts.now is None:
        return None
    if facts.now >= call.closes_at:
        return Reason("call_closed", deadline_passed_message(call))
    if call.status != lifecycle.Status.PUBLISHED:
        return Reason("call_closed", _("This call is not accepting applications."))
    return None


def legal_form(call: Call, facts: Facts) -> Reason | None:
    """The programme's rule: an initiative group (unregistered) may be a partner, never the lead."""
    if facts.legal_form == "initiative_group":
        return Reason("legal_form", _("An initiative group can be a partner, but not the lead organization."))
    return None


def region(call: Call, facts: Facts) -> Reason | None:
    """A call with regions is open only to lead organizations from one of them (none: every region)."""
    regions = call.regions
    if facts.region is None or not regions or facts.region in regions:
        return None
    locale = current_locale()
    return Reason("region", _(
        "Only organizations from these regions may lead an application to this call: %(regions)s. "
        "The region of the lead organization: %(region)s.",
        regions=", ".join(region_name(code, locale) for code in regions), region=region_name(facts.region, locale),
    ))  # fmt: skip


def consortium_size(call: Call, facts: Facts) -> Reason | None:
    """The consortium has between the call's minimum and maximum number of organizations."""
    if facts.members is None or call.consortium_min_members <= facts.members <= call.consortium_max_members:
        return None
    return Reason("consortium_size", _("The consortium has %(n)d members; this call needs %(min)d to %(max)d.",
                                       n=facts.members, min=call.consortium_min_members,
                                       max=call.consortium_max_members))  # fmt: skip


def amount_range(call: Call, facts: Facts) -> Reason | None:
    """The requested amount is between the call's minimum and maximum grant."""
    if facts.amount is None or call.min_amount <= facts.amount <= call.max_amount:
        return None
    return Reason("amount_range", _("The requested amount must be between %(min)s and %(max)s.",
                                    min=format_money(call.min_amount, call.currency),
                                    max=format_money(call.max_amount, call.currency)))  # fmt: skip


RULES: tuple[Rule, ...] = (call_closed, legal_form, region, consortium_size, amount_range)


def rules_of(call: Call) -> tuple[Rule, ...]:
    """The rules `call` is judged by: the programme's, and (later) those of its own questions."""
    return RULES


def judge(call: Call, facts: Facts, rules: Iterable[Rule] | None = None) -> Result:
    reasons = [reason for rule in (rules_of(call) if rules is None else rules) if (reason := rule(call, facts))]
    return Result(eligible=not reasons, reasons=reasons)


# --- the three questions -----------------------------------------------------------------------


def clean_answers(raw: dict) -> dict:
    """The check's answers as numbers: `consortium_members` and `requested_amount`, both required
    (form text or JSON integers); ValidationFailed with a message per field otherwise."""
    out: dict = {}
    fields: dict[str, list[str]] = {}
    for key, low, high in (("consortium_members", 1, MAX_MEMBERS), ("requested_amount", 0, MAX_AMOUNT)):
        value = raw.get(key)
        if isinstance(value, str):
            value = value.strip().replace("\u00a0", "").replace(" ", "")
            value = int(value) if value.isdigit() else (None if value == "" else value)
        if value is None:
            fields[key] = [_("This field is required.")]
        elif isinstance(value, bool) or not isinstance(value, int):
            fields[key] = [_("Please enter a whole number.")]
        elif not low <= value <= high:
            fields[key] = [
                _("Enter a number from %(min)s to %(max)s.", min=format_number(low, 0), max=format_number(high, 0))
            ]
        else:
            out[key] = value
    if fields:
        raise ValidationFailed(_("Please correct the marked fields."), fields=fields)
    return {**raw, **out}


def check(call: Call, organization, answers: dict, *, now: datetime | None = None) -> Result:
    """May `organization` lead an application to `call`, with the planned consortium and amount
    in `answers` (see `clean_answers`)? Every rule that refuses gives its reason."""
    answers = clean_answers(answers)
    facts = Facts(region=organization.region, legal_form=organization.legal_form,
                  members=answers["consortium_members"], amount=answers["requested_amount"],
                  now=now or clock.now(), answers=answers)  # fmt: skip
    return judge(call, facts)


def facts_of(app, *, now: datetime | None = None) -> Facts:
    """The facts of an application as it stands: its lead, its consortium, its requested amount."""
    lead = app.consortium.lead
    return Facts(region=lead.region, legal_form=lead.legal_form, members=len(app.consortium.members),
                 amount=app.requested_amount, now=now, answers=dict(getattr(app, "answers", None) or {}))  # fmt: skip


def for_application(app, *, now: datetime | None = None) -> Result:
    """The rules judged on an application (the deadline only when `now` is given): screening."""
    return judge(app.call, facts_of(app, now=now))
