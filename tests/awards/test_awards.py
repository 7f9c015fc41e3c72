import hashlib
import io

import pytest
from conftest import PASSWORD, api_login, login, post_form
from pypdf import PdfReader

from grants.awards import issuing, payments, services
from grants.awards.letters import amount_in_words
from grants.awards.models import Award
from grants.core.errors import Conflict, ValidationFailed
from grants.extensions import db

KAZAKH = "әғқңөұүһі"


def text_of(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


@pytest.mark.parametrize("language", ["kk", "ru", "en"])
def test_letter_in_each_language_has_the_organization_and_the_amount_in_figures_and_words(awarded, language):
    stage, awards = awarded
    award = next(a for a in awards if a.application_id == stage.apps[0].id)
    assert [t.amount for t in award.tranches] == [800_000, 800_000, 400_000]  # 40/40/20 % of 2 000 000
    letter = issuing.issue_letter(stage.manager, award, language)
    data = issuing.letter_bytes(letter)
    assert hashlib.sha256(data).hexdigest() == letter.sha256
    text = " ".join(text_of(data).split())
    assert "Үміт, Өркен, Ұлытау" in text
    assert "2 000 000" in text or "2,000,000" in text
    words = amount_in_words(2_000_000, language)
    assert words.split()[0] in text.lower()
    assert {"kk": "екі миллион", "ru": "два миллиона", "en": "two million"}[language] in words
    if language == "kk":
        assert all(letter_ in text.lower() for letter_ in KAZAKH), [c for c in KAZAKH if c not in text.lower()]
    assert "root:x:0:0" not in text
    assert "file:///etc/passwd" in text.replace(" ", "")  # user text stays inert text (wrapped)


def test_verify_page_confirms_the_hash_and_a_tampered_copy_differs(awarded, client):
    stage, awards = awarded
    letter = issuing.issue_letter(stage.manager, awards[0], "ru")
    client.get("/language/en")
    page = client.get(f"/verify/{letter.verification_code}").get_data(as_text=True)
    main = page[page.find("<main") :]
    assert "valid letter" in main, main[:2000]
    assert letter.sha256 in main and awards[0].agreement_number in page
    original = issuing.letter_bytes(letter)
    tampered = original[:1000] + bytes([original[1000] ^ 1]) + original[1001:]  # one bit changed
    assert hashlib.sha256(tampered).hexdigest() != letter.sha256
    newer = issuing.issue_letter(stage.manager, awards[0], "kk", seen_version=1)
    old_page = client.get(f"/verify/{letter.verification_code}").get_data(as_text=True)
    assert "was replaced" in old_page
    assert newer.version == 2 and len(awards[0].letters) == 2
    missing = client.get("/verify/NOSUCHCODE")
    assert missing.status_code == 404 and "No letter has the code" in missing.get_data(as_text=True)


def test_tranches_reports_and_bad_input(awarded):
    stage, awards = awarded
    award = awards[0]
    issuing.issue_letter(stage.manager, award, "ru")
    payments.mark_paid(stage.manager, award, 1, "2027-03-30")
    with pytest.raises(Conflict):
        payments.mark_paid(stage.manager, award, 1, "2027-03-31")
    db.session.rollback()
    assert db.session.get(Award, award.id).status == "active"
    lead = stage.leads[0]
    with pytest.raises(ValidationFailed) as bad:
        services.submit_report(lead, award, kind="interim", narrative="Жасалды", indicators={"Неизвестный": 5})
    assert "indicators.Неизвестный" in bad.value.fields
    db.session.rollback()
    services.submit_report(lead, award, kind="interim", narrative="Жасалды", indicators={"Қатысушылар": 25})
    with pytest.raises(ValidationFailed):
        services.review_report(stage.manager, award, "interim", approve=False, note="")
    db.session.rollback()
    services.review_report(stage.manager, award, "interim", approve=True)
    from grants.awards.views import progress

    assert progress(award) == [("Қатысушылар", 40.0, 25.0, 62.5)]


def test_a_grantee_cannot_open_another_award_and_the_api_matches(awarded, app, client):
    stage, awards = awarded
    mine = next(a for a in awards if a.application_id == stage.apps[0].id)
    other = next(a for a in awards if a.application_id != stage.apps[0].id)
    issuing.issue_letter(stage.manager, mine, None)
    login(client, "lead0@example.kz")
    assert client.get(f"/awards/{mine.id}").status_code == 200
    assert client.get(f"/awards/{other.id}").status_code == 404
    assert client.get(f"/awards/{mine.id}/letter.pdf?lang=en").data[:5] == b"%PDF-"
    token = api_login(client, "lead0@example.kz", PASSWORD).json["token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get(f"/api/v1/awards/{other.id}", headers=headers).status_code == 404
    body = client.get(f"/api/v1/awards/{mine.id}", headers=headers).json
    assert body["letter"]["sha256"] == mine.letter.sha256 and body["tranches"][0]["amount"] == 800_000
    report = client.post(f"/api/v1/awards/{mine.id}/reports", headers=headers,
                         json={"kind": "interim", "narrative": "Done", "indicators": [{"name": "Қатысушылар", "value": 10}]})  # fmt: skip
    assert report.status_code == 201 and report.json["reports"][0]["submitted_at"]
    manager = api_login(client, "manager@example.kz", PASSWORD).json[
        "token"
    ]
    paid = client.post(f"/api/v1/awards/{mine.id}/tranches/1/paid", json={"paid_on": "2027-03-30"},
                       headers={"Authorization": f"Bearer {manager}"})  # fmt: skip
    assert paid.status_code == 200
    twice = client.post(f"/api/v1/awards/{mine.id}/tranches/1/paid", json={"paid_on": "2027-03-30"},
                        headers={"Authorization": f"Bearer {manager}"})  # fmt: skip
    assert twice.status_code == 409


def test_the_dashboard_generates_all_letters_as_a_job(awarded, client):
    stage, awards = awarded
    login(client, "manager@example.kz")
    client.get("/language/en")
    response = post_form(client, f"/manage/calls/{stage.call.id}/awards", {"action": "letters", "confirm": "1"})
    assert response.status_code == 302
    db.session.expire_all()
    assert all(db.session.get(Award, a.id).letter is not None for a in awards)
    page = client.get(f"/manage/calls/{stage.call.id}/awards", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert f"of {len(awards)}" in page
    assert client.get(f"/manage/calls/{stage.call.id}/awards.csv").get_data(as_text=True).count("\n") == len(awards) + 1
    assert client.get(f"/manage/calls/{stage.call.id}/awards.xlsx").data[:2] == b"PK"


def test_manager_edits_the_award_until_the_letter_is_issued(awarded):
    stage, awards = awarded
    award = awards[0]
    with pytest.raises(ValidationFailed):
        services.update(stage.manager, award, {"percents": [50, 50, 10]})
    db.session.rollback()
    services.update(stage.manager, award, {"amount": 1_900_000, "percents": [50, 30, 20]})
    assert [t.amount for t in award.tranches] == [950_000, 570_000, 380_000]
    issuing.issue_letter(stage.manager, award, "ru")
    with pytest.raises(Conflict):
        services.update(stage.manager, award, {"amount": 1})


def test_report_drafts_autosave_files_and_submission(awarded, app, client):
    stage, awards = awarded
    award = next(a for a in awards if a.application_id == stage.apps[0].id)
    login(client, "lead0@example.kz")
    page = client.get(f"/awards/{award.id}").get_data(as_text=True)
    assert 'id="section-form"' in page and "autosave.js" in page
    saved = post_form(client, f"/awards/{award.id}", {"action": "save", "kind": "interim", "version": "1",
                                                      "narrative": "Жартылай", "indicator-0": "12"},
                      headers={"X-Autosave": "1"})  # fmt: skip
    assert saved.status_code == 200 and saved.json["version"] == 2
    stale = post_form(client, f"/awards/{award.id}", {"action": "save", "kind": "interim", "version": "1",
                                                      "narrative": "Ескі"}, headers={"X-Autosave": "1"})  # fmt: skip
    assert stale.status_code == 409 and stale.json["error"]["code"] == "stale_version"
    db.session.expire_all()
    report = next(r for r in db.session.get(Award, award.id).reports if r.kind == "interim")
    assert (report.status, report.narrative, report.indicators) == ("due", "Жартылай", {"Қатысушылар": 12.0})
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 64
    ok = post_form(client, f"/awards/{award.id}", {"action": "report_file", "kind": "interim",
                                                   "file": (io.BytesIO(png), "фото.png")}, content_type="multipart/form-data")  # fmt: skip
    assert ok.status_code == 302
    bad = post_form(client, f"/awards/{award.id}", {"action": "report_file", "kind": "interim",
                                                    "file": (io.BytesIO(b"MZ\x90\x00"), "photo.png")}, content_type="multipart/form-data")  # fmt: skip
    assert bad.status_code == 415
    db.session.expire_all()
    report = next(r for r in db.session.get(Award, award.id).reports if r.kind == "interim")
    [stored] = report.files
    download = client.get(f"/awards/{award.id}/reports/interim/files/{stored.id}")
    assert download.data == png and download.headers["X-Content-Type-Options"] == "nosniff"
    submitted = post_form(client, f"/awards/{award.id}", {"action": "report", "kind": "interim", "version": "2",
                                                          "narrative": "Бітті", "indicator-0": "30"})  # fmt: skip
    assert submitted.status_code == 302
    db.session.expire_all()
    assert next(r for r in db.session.get(Award, award.id).reports if r.kind == "interim").status == "submitted"
