"""`POST /api/v1/reports/{id}/review` (manager) `{approve, comment}`: the API side of reviewing a
grantee's report. Issue 11, "An award approved in the natural order (final report approved, then
last tranche paid) stays `active` forever": through the API, the award completes in either order."""

import pytest
from conftest import PASSWORD, api_login

from grants.awards import issuing
from grants.awards.models import Award, Report
from grants.extensions import db

TODAY = "2027-03-31"  # the stage's frozen clock (Asia/Almaty)


def token(client, email: str) -> dict:
    got = api_login(client, email, PASSWORD).json["token"]
    return {"Authorization": f"Bearer {got}", "Accept-Language": "en"}


def report_id(award: Award, kind: str) -> int:
    return next(r.id for r in award.reports if r.kind == kind)


def stored_report(report: int) -> Report:
    db.session.expire_all()
    return db.session.get(Report, report)


class Grant:
    """One award driven through the API: the lead reports, the manager reviews and pays."""

    def __init__(self, client, stage, award: Award):
        self.client, self.award = client, award
        self.lead = token(client, stage.leads[stage.apps.index(award.application)].email)
        self.manager = token(client, "manager@example.kz")

    def report(self, kind: str):
        return self.client.post(f"/api/v1/awards/{self.award.id}/reports", headers=self.lead,
                                json={"kind": kind, "narrative": "Оқу курстары өтті", "indicators": []})  # fmt: skip

    def review(self, kind: str, *, headers=None, **body):
        return self.client.post(f"/api/v1/reports/{report_id(self.award, kind)}/review", json=body,
                                headers=headers or self.manager)  # fmt: skip

    def pay(self, n: int):
        return self.client.post(f"/api/v1/awards/{self.award.id}/tranches/{n}/paid", json={"paid_on": TODAY},
                                headers=self.manager)  # fmt: skip


@pytest.mark.parametrize("order", ["final_report_then_last_payment", "last_payment_then_final_report"])
def test_approving_the_final_report_and_paying_the_last_tranche_complete_the_award_in_either_order(
    awarded, client, order
):
    stage, awards = awarded
    award = next(a for a in awards if a.application_id == stage.apps[0].id)
    if order == "last_payment_then_final_report":
        award.tranches[2].condition = "interim_report"  # a schedule whose last tranche follows the interim report
        db.session.commit()
    issuing.issue_letter(stage.manager, award, "ru")
    grant = Grant(client, stage, award)
    assert grant.pay(1).status_code == 200
    assert grant.report("interim").status_code == 201
    approved = grant.review("interim", approve=True)
    assert approved.status_code == 200, approved.json
    assert [r["status"] for r in approved.json["reports"]] == ["approved", "due"]
    assert approved.json["tranches"][1]["status"] == "payable"  # the interim report unlocks tranche 2
    assert grant.pay(2).status_code == 200

    if order == "final_report_then_last_payment":
        assert grant.report("final").status_code == 201
        final = grant.review("final", approve=True)
        assert final.status_code == 200 and final.json["status"] == "active"
        last = grant.pay(3)
        assert last.status_code == 200 and last.json["status"] == "completed"
    else:
        last = grant.pay(3)
        assert last.status_code == 200 and last.json["status"] == "active"
        assert grant.report("final").status_code == 201
        final = grant.review("final", approve=True)
        assert final.status_code == 200 and final.json["status"] == "completed"
    got = client.get(f"/api/v1/awards/{award.id}", headers=grant.manager).json
    assert got["status"] == "completed" and [r["status"] for r in got["reports"]] == ["approved", "approved"]
    assert [t["status"] for t in got["tranches"]] == ["paid", "paid", "paid"]


def test_a_report_is_returned_only_with_a_comment_and_reviewed_only_while_it_waits(awarded, client):
    stage, awards = awarded
    award = next(a for a in awards if a.application_id == stage.apps[1].id)
    grant = Grant(client, stage, award)
    interim = report_id(award, "interim")
    not_yet = grant.review("interim", approve=True)  # nothing submitted: no edge from "due"
    assert not_yet.status_code == 409 and not_yet.json["error"]["code"] == "invalid_transition"
    assert grant.report("interim").status_code == 201

    for body in ({"approve": False}, {"approve": False, "comment": "   "}, {"approve": False, "comment": None}):
        refused = grant.review("interim", **body)
        assert refused.status_code == 422 and "comment" in refused.json["error"]["fields"], body
        assert stored_report(interim).status == "submitted"
    for body in ({"comment": "Жақсы"}, {"approve": "yes"}, {"approve": True, "comment": "x" * 5001}):
        assert grant.review("interim", **body).status_code == 422, body  # the body's schema
    assert grant.review("interim", headers=grant.lead, approve=True).status_code == 404  # managers only
    assert stored_report(interim).status == "submitted"

    returned = grant.review("interim", approve=False, comment="Фотосуреттерді қосыңыз")
    assert returned.status_code == 200 and returned.json["reports"][0]["status"] == "returned"
    assert stored_report(interim).review_note == "Фотосуреттерді қосыңыз"
    twice = grant.review("interim", approve=True)  # returned: waiting for the grantee, not for review
    assert twice.status_code == 409 and twice.json["error"]["code"] == "invalid_transition"
    assert grant.report("interim").status_code == 201  # the grantee submits it again
    assert grant.review("interim", approve=True).json["reports"][0]["status"] == "approved"


def test_reviewing_an_unknown_report_answers_404(awarded, client):
    assert client.post("/api/v1/reports/999999/review", json={"approve": True},
                       headers=token(client, "manager@example.kz")).status_code == 404  # fmt: skip
