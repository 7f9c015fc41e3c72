"""The review stage's services, one module per sub-domain; this module gathers them for callers
that use the whole stage at once (the demo seeder, other domains' tests).

    eligibility  checks, set_eligibility
    pool         invitations, the reviewer's profile, who must never review whom
    assigning    automatic and manual assignment, replacements
    reviewing    declaration, scoring, reopening, the conflict re-check
    ranking      scores, priority points and the computed selection
    decisions    decisions (versioned, guarded), public results
    appeals      appeals and their answers"""

from __future__ import annotations

from .appeals import answer_appeal, appeal, appeal_deadline, appeals_of
from .assigning import assignments_of, assignments_of_call, auto_assign, reassign
from .decisions import computed_outcome, decide, public_results, result_figures
from .eligibility import checks, set_eligibility
from .pool import accept_invitation, invite_reviewer, reviewers, set_profile
from .ranking import RANKED_STATUSES, RankedApplication, ranking, rules_of
from .reviewing import clean_review, declare, reopen, save_review

__all__ = [
    "RANKED_STATUSES", "RankedApplication", "accept_invitation", "answer_appeal", "appeal", "appeal_deadline",
    "appeals_of", "assignments_of", "assignments_of_call", "auto_assign", "checks", "clean_review", "computed_outcome",
    "decide", "declare", "invite_reviewer", "public_results", "ranking", "reassign", "reopen", "result_figures",
    "reviewers", "rules_of", "save_review", "set_eligibility", "set_profile",
]  # fmt: skip
