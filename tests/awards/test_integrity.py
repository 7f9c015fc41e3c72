"""Issue 11 ("Integrity") for awards: money rules, edits that never drop history, completion in
either order, letters that state what was decided, one letter per issue, and the award page
before the letter. Each test names the "Why" bullet it answers."""

import io
import re

import pytest
from conftest import PASSWORD, api_login, login, post_form, read_outbox
from flask_babel import force_locale
from pypdf import PdfReader

from grants.awards import issuing, lifecycle, payments, services
from grants.awards.models import Award, Letter, Report, TranchePayment
from grants.core.db import transactional
from grants.core.errors import Conflict, ValidationFailed
from grants.extensions import db

TODAY = "2027-03-31"  # the stage's frozen clock: the call closed an hour ago (Asia/Almaty)


def token(client, email: str) -> dict:
    got = api_login(client, email, PASSWORD).json["token"]
    return {"Authorization": f"Bearer {got}", "Accept-Language": "en"}


def fresh(award_id: int) -> Award:
    db.session.expire_all()
    return db.session.get(Award, award_id)


def report_of(award: Award, kind: str) -> Report:
    return next(r for r in award.reports if r.kind == kind)


def letter_mails(app) -> list:
    return [m for m in read_outbox(app) if any(p.get_filename() for p in m.iter_attachments())]


def pdf_text(data: bytes) -> str:
    return " ".join("\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages).split())


def approve(stage, award, kind: str) -> None:
    lead = stage.leads[stage.apps.index(next(a for a in stage.apps if a.id == award.application_id))]
    services.submit_report(lead, award, kind=kind, narrative="Жасалды", indicators={})
    services.review_report(stage.manager, award, kind, approve=True)


# --- "The award page answers 500 for every award whose letter is not issued yet" --------------


@pytest.mark.parametrize("language", ["kk", "ru"])
def test_award_page_answers_200_before_the_letter_is_issued(awarded, app, client, language):
    stage, awards = awarded
    award = awards[0]
    assert award.letter is None
    login(client, "manager@example.kz")
    client.get(f"/language/{language}")
    page = client.get(f"/awards/{award.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'name="action" value="edit"' in html and "%</legend>" in html  # the edit form is there
    grantee = app.test_client()
    login(grantee, "lead0@example.kz")
    grantee.get(f"/language/{language}")
    assert grantee.get(f"/awards/{award.id}").status_code == 200


# --- "Tranche 2 and 3 were marked paid with no report submitted, out of order, dated 2030" -----


def test_a_tranche_is_paid_only_when_its_condition_holds_in_order_and_never_in_the_future(awarded, client):
    stage, awards = awarded
    award = next(a for a in awards if a.application_id == stage.apps[0].id)
    manager = token(client, "manager@example.kz")

    def pay(n, day=TODAY):
        return client.post(f"/api/v1/awards/{award.id}/tranches/{n}/paid", json={"paid_on": day}, headers=manager)

    for n in (1, 2, 3):  # no letter, no report: nothing may be paid
        refused = pay(n)
        assert refused.status_code == 409 and refused.json["error"]["code"] == "condition_not_met", refused.json
    issuing.issue_letter(stage.manager, award, "ru")
    assert pay(1, "2030-01-01").status_code == 422  # dated in the future
    assert pay(1, "2027-04-01").json["error"]["code"] == "future_date"  # tomorrow in Almaty
    assert pay(2).json["error"]["code"] == "condition_not_met"  # the interim report is not approved
    approve(stage, award, "interim")
    out_of_order = pay(2)
    assert out_of_order.status_code == 409 and out_of_order.json["error"]["code"] == "previous_unpaid"
    assert pay(3).json["error"]["code"] == "condition_not_met"
    assert pay(1, "2027-03-30").status_code == 200
    body = pay(2).json
    assert [t["status"] for t in body["tranches"]] == ["paid", "paid", "scheduled"]
    assert [t["paid_on"] for t in body["tranches"]] == ["2027-03-30", TODAY, None]
    assert body["status"] == "active"


def test_mark_paid_on_the_page_needs_the_confirmation_box(awarded, client):
    stage, awards = awarded
    award = awards[0]
    issuing.issue_letter(stage.manager, award, "en")
    login(client, "manager@example.kz")
    client.get("/language/en")
    unconfirmed = post_form(client, f"/awards/{award.id}", {"action": "paid", "n": "1", "paid_on": TODAY})
    assert unconfirmed.status_code == 422 and "Tick the box to confirm" in unconfirmed.get_data(as_text=True)
    assert fresh(award.id).tranches[0].paid_on is None
    done = post_form(client, f"/awards/{award.id}", {"action": "paid", "n": "1", "paid_on": TODAY, "confirm": "1"})
    assert done.status_code == 302 and fresh(award.id).tranches[0].status == "paid"


def test_a_payment_recorded_in_error_is_reversed_with_its_reason_and_the_history_kept(awarded, client):
    stage, awards = awarded
    award = awards[0]
    issuing.issue_letter(stage.manager, award, "en")
    manager = token(client, "manager@example.kz")
    base = f"/api/v1/awards/{award.id}/tranches/1"
    assert client.post(f"{base}/paid", json={"paid_on": "2027-03-01"}, headers=manager).status_code == 200
    no_reason = client.post(f"{base}/reversal", json={"reason": " "}, headers=manager)
    assert no_reason.status_code == 422
    reversed_ = client.post(f"{base}/reversal", json={"reason": "Wrong bank account"}, headers=manager)
    assert reversed_.status_code == 200
    tranche = reversed_.json["tranches"][0]
    assert tranche["status"] == "payable" and tranche["paid_on"] is None
    assert [(p["kind"], p["paid_on"], p["reason"]) for p in tranche["payments"]] == [
        ("payment", "2027-03-01", ""), ("reversal", None, "Wrong bank account")]  # fmt: skip
    twice = client.post(f"{base}/reversal", json={"reason": "again"}, headers=manager)
    assert twice.status_code == 409 and twice.json["error"]["code"] == "not_paid"
    assert client.post(f"{base}/paid", json={"paid_on": TODAY}, headers=manager).status_code == 200
    assert db.session.execute(db.select(db.func.count(TranchePayment.id))).scalar() == 3  # nothing deleted
    login(client, "manager@example.kz")
    client.get("/language/en")
    page = client.get(f"/awards/{award.id}").get_data(as_text=True)
    assert "Payment history" in page and "Wrong bank account" in page


def test_the_last_paid_tranche_is_reversed_first(awarded):
    stage, awards = awarded
    award = awards[0]
    issuing.issue_letter(stage.manager, award, "en")
    approve(stage, award, "interim")
    payments.mark_paid(stage.manager, award, 1, TODAY)
    payments.mark_paid(stage.manager, award, 2, TODAY)
    with pytest.raises(Conflict) as refused:
        payments.reverse_payment(stage.manager, award, 1, "typo")
    assert refused.value.code == "later_tranche_paid"


# --- "Editing an award rebuilds its tranches and reports: a recorded payment went back to unpaid" -


def test_editing_an_award_never_drops_a_report_or_a_payment(awarded):
    stage, awards = awarded
    award = next(a for a in awards if a.application_id == stage.apps[0].id)
    draft = services.save_report(stage.leads[0], award, kind="interim", narrative="Жартылай", indicators={})
    report_ids = [r.id for r in award.reports]
    tranche_ids = [t.id for t in award.tranches]
    services.update(stage.manager, award, {"amount": 1_000_000, "percents": [50, 30, 20]}, version=award.version)
    award = fresh(award.id)
    assert [r.id for r in award.reports] == report_ids and [t.id for t in award.tranches] == tranche_ids
    assert report_of(award, "interim").narrative == "Жартылай" and report_of(award, "interim").version == draft.version
    assert [t.amount for t in award.tranches] == [500_000, 300_000, 200_000]
    issuing.issue_letter(stage.manager, award, "ru")
    payments.mark_paid(stage.manager, award, 1, TODAY)
    with pytest.raises(Conflict) as refused:
        services.update(stage.manager, award, {"amount": 1})
    assert refused.value.code == "payments_recorded"
    db.session.rollback()
    award = fresh(award.id)
    assert award.tranches[0].paid_on.isoformat() == TODAY and award.amount == 1_000_000


def test_a_stale_award_edit_is_refused_in_the_users_language(awarded, client):
    stage, awards = awarded
    award = awards[0]
    login(client, "manager@example.kz")
    client.get("/language/kk")
    page = client.get(f"/awards/{award.id}").get_data(as_text=True)
    seen = re.search(r'name="version" value="(\d+)"', page).group(1)
    services.update(stage.manager, award, {"amount": 1_500_000})  # another manager saved meanwhile
    stale = post_form(client, f"/awards/{award.id}", {"action": "edit", "amount": "1700000", "version": seen})
    assert stale.status_code == 409
    text = stale.get_data(as_text=True)
    assert "Сіз ашқаннан кейін" in text, text[text.find("<main") : text.find("<main") + 800]
    assert fresh(award.id).amount == 1_500_000
    with pytest.raises(Conflict) as api_style:
        services.update(stage.manager, fresh(award.id), {"amount": 1_600_000}, version=seen)
    assert api_style.value.code == "stale"


# --- "An award approved in the natural order stays active forever" ------------------------------


def test_the_award_completes_when_the_final_report_is_approved_after_the_last_payment_too(awarded):
    stage, awards = awarded
    natural = next(a for a in awards if a.application_id == stage.apps[0].id)
    issuing.issue_letter(stage.manager, natural, "ru")
    payments.mark_paid(stage.manager, natural, 1, TODAY)
    approve(stage, natural, "interim")
    payments.mark_paid(stage.manager, natural, 2, TODAY)
    approve(stage, natural, "final")  # final report approved first ...
    assert fresh(natural.id).status == "active"
    payments.mark_paid(stage.manager, fresh(natural.id), 3, TODAY)  # ... then the last tranche paid
    assert fresh(natural.id).status == "completed"

    other = next(a for a in awards if a.application_id == stage.apps[1].id)
    other.tranches[2].condition = "interim_report"  # a schedule whose last tranche follows the interim report
    db.session.commit()
    issuing.issue_letter(stage.manager, other, "ru")
    payments.mark_paid(stage.manager, other, 1, TODAY)
    approve(stage, other, "interim")
    payments.mark_paid(stage.manager, other, 2, TODAY)
    payments.mark_paid(stage.manager, fresh(other.id), 3, TODAY)  # every tranche paid first ...
    assert fresh(other.id).status == "active"
    approve(stage, fresh(other.id), "final")  # ... then the final report approved
    assert fresh(other.id).status == "completed"
    payments.reverse_payment(stage.manager, fresh(other.id), 3, "paid twice by the bank")
    assert fresh(other.id).status == "active"  # a reversal reopens it


# --- "After a letter is issued, renaming the organization changes what the letter states" -------


def test_a_rename_after_issue_shows_neither_in_the_letter_nor_on_verify(awarded, client):
    stage, awards = awarded
    award = next(a for a in awards if a.application_id == stage.apps[0].id)
    old_name = award.application.consortium.lead.name
    letter = issuing.issue_letter(stage.manager, award, "ru")
    assert letter.snapshot["lead"]["name"] == old_name and letter.snapshot["amount"] == award.amount
    lead_org = award.application.consortium.lead
    lead_org.name = "Переименованный фонд"
    db.session.commit()
    login(client, "lead0@example.kz")
    for language in ("kk", "en"):
        text = pdf_text(client.get(f"/awards/{award.id}/letter.pdf?lang={language}").data)
        assert "Үміт, Өркен, Ұлытау" in text and "Переименованный" not in text
    client.get("/language/en")
    page = client.get(f"/verify/{letter.verification_code}").get_data(as_text=True)
    assert old_name in page and "Переименованный" not in page


# --- a double "issue letters": one letter, and its email only after the commit ------------------


def test_a_double_issue_creates_one_letter_and_one_email(awarded, app):
    stage, awards = awarded
    award = awards[0]
    first = issuing.issue_letter(stage.manager, award, "ru", seen_version=0)
    again = issuing.issue_letter(stage.manager, award, "ru", seen_version=0)  # the second click
    assert first is not None and again is None
    assert db.session.execute(db.select(db.func.count(Letter.id)).filter_by(award_id=award.id)).scalar() == 1
    assert len(letter_mails(app)) == 1  # the lead has one member
    from grants.tasks import issue_letters

    # The batch queues one task per award still without a letter (run inline here, after its commit).
    assert issue_letters.apply((stage.call.id, stage.manager.id)).result == len(awards) - 1  # the rest, not this one
    assert issue_letters.apply((stage.call.id, stage.manager.id)).result == 0  # a redelivered job issues nothing
    db.session.rollback()
    assert db.session.execute(db.select(db.func.count(Letter.id))).scalar() == len(awards)
    assert len(letter_mails(app)) == len(awards)


def test_no_letter_email_leaves_when_the_issue_is_rolled_back(awarded, app):
    stage, awards = awarded

    @transactional
    def issue_then_fail():
        issuing.issue_letter(stage.manager, awards[0], "ru")
        raise Conflict("refused later in the same unit of work")

    with pytest.raises(Conflict):
        issue_then_fail()
    assert letter_mails(app) == []
    assert fresh(awards[0].id).letter is None


# --- reports: one autosave wins, the other is told ----------------------------------------------


def test_a_report_save_on_an_old_version_is_refused(awarded):
    stage, awards = awarded
    award = next(a for a in awards if a.application_id == stage.apps[0].id)
    services.save_report(stage.leads[0], award, kind="interim", narrative="tab one", indicators={}, version=1)
    with pytest.raises(Conflict) as refused:
        services.save_report(stage.leads[0], award, kind="interim", narrative="tab two", indicators={}, version=1)
    assert refused.value.code == "stale_version"
    db.session.rollback()
    assert report_of(fresh(award.id), "interim").narrative == "tab one"


def test_the_named_sets_define_overdue_once(awarded):
    stage, awards = awarded
    award = awards[0]
    late = award.ends_on.replace(year=award.ends_on.year + 2)
    with force_locale("en"):
        assert lifecycle.overdue(award, late) == ["Interim report", "Final report"]  # no tranche payable yet
    issuing.issue_letter(stage.manager, award, "en")
    with force_locale("en"):
        assert lifecycle.overdue(fresh(award.id), late) == ["Tranche 1", "Interim report", "Final report"]
    with pytest.raises(ValidationFailed):
        payments.mark_paid(stage.manager, award, 1, "not a date")
