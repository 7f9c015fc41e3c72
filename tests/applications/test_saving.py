"""Issue 12 ("Reach"), saving that never fights itself and drafts started with no connection.

- A save conflicts only when one of its own sections changed since the version it started from
  and the text differs: the writer's own autosave arriving first, a page kept on the device
  from before another section was saved, are not conflicts.
- The whole form of a new draft (written on a device with no connection) is created and filled
  at once; sent again after a lost answer, it finds the same draft (the device key is unique).
"""

import io
import re

import pytest
from conftest import login, post_form
from parallel import browser_session, fire
from pypdf import PdfReader

from applications.conftest import complete
from grants.applications import services
from grants.applications.models import Application
from grants.core.errors import Conflict
from grants.extensions import db

KEY = "device-key-0123456789abcdef"


def test_saving_another_section_from_an_older_version_is_not_a_conflict(ready):
    seen = ready.app.version
    services.save(ready.partner_user, ready.app, {"summary": "Серіктестің мәтіні"}, version=seen)
    services.save(ready.lead_user, ready.app, {"problem": "Көшбасшының мәтіні"}, version=seen)
    app = db.session.get(Application, ready.app.id)
    assert (app.summary, app.problem) == ("Серіктестің мәтіні", "Көшбасшының мәтіні")
    assert app.version == seen + 2


def test_the_same_text_again_from_an_older_version_is_not_a_conflict(ready):
    """The writer's own autosave got there first: the Save that follows sends the same text."""
    seen = ready.app.version
    rows = {"indicators": [{"name": "Еріктілер", "unit": "адам", "baseline": "0", "target": "40.0"}]}
    services.save(ready.lead_user, ready.app, rows, version=seen)
    same = {"indicators": [{"name": "Еріктілер", "unit": "адам", "baseline": "0.00", "target": "40"}]}
    services.save(ready.lead_user, ready.app, same, version=seen)
    assert db.session.get(Application, ready.app.id).version == seen + 1


def test_a_different_text_in_a_section_changed_since_is_a_conflict_with_both_texts(ready):
    seen = ready.app.version
    services.save(ready.partner_user, ready.app, {"problem": "Серіктестің жаңа мәтіні"}, version=seen)
    services.save(ready.partner_user, ready.app, {"summary": "Басқа бөлім"}, version=seen + 1)
    with pytest.raises(Conflict) as refused:
        services.save(ready.lead_user, ready.app, {"problem": "Көшбасшының ескі мәтіні"}, version=seen)
    assert refused.value.code == "stale_version"
    assert refused.value.extra["current"] == {"problem": "Серіктестің жаңа мәтіні"}
    db.session.rollback()
    assert db.session.get(Application, ready.app.id).problem == "Серіктестің жаңа мәтіні"


def test_the_first_save_of_a_section_nobody_saved_is_not_a_conflict(world):
    """A new draft: the partner saves the summary, the lead (page opened before) the problem."""
    seen = world.app.version
    services.save(world.partner_user, world.app, {"summary": "Серіктес жазды"}, version=seen)
    services.save(world.lead_user, world.app, {"problem": "Көшбасшы жазды"}, version=seen)
    app = db.session.get(Application, world.app.id)
    assert (app.summary, app.problem) == ("Серіктес жазды", "Көшбасшы жазды")


def test_a_resent_offline_draft_never_overwrites_what_changed_on_the_server_since(app, world, client):
    """The device sends its old copy again (its answer was lost) after the section was changed
    online: the changed section is a conflict with both texts, not overwritten."""
    login(client, "lead@example.kz")
    url = f"/calls/{world.call.id}/offline-draft"
    first = post_form(client, url, offline_form(world), headers={"X-Autosave": "1"})
    assert first.status_code == 200
    draft = db.session.get(Application, first.json["application_id"])
    services.save(world.partner_user, draft, {"problem": "Серіктес желіде өзгертті"}, version=first.json["version"])
    db.session.commit()
    again = post_form(client, url, offline_form(world, problem="Құрылғыдағы ескі мәтін"), headers={"X-Autosave": "1"})
    assert again.status_code == 409 and again.json["error"]["code"] == "stale_version"
    db.session.rollback()
    assert db.session.get(Application, draft.id).problem == "Серіктес желіде өзгертті"
    keep = offline_form(world, problem="Серіктес желіде өзгертті") | {"version": str(first.json["version"])}
    assert post_form(client, url, keep, headers={"X-Autosave": "1"}).status_code == 200  # merged by the writer


def test_save_after_the_own_autosave_on_the_page_is_not_a_false_conflict(app, world, client):
    """The race of the phone walkthrough: an autosave (200) lands, then Save posts the page's old
    version with the same text: saved, no "someone else saved" page."""
    login(client, "lead@example.kz")
    page = f"/applications/{world.app.id}/edit/problem"
    version = re.search(r'name="version" value="(\d+)"', client.get(page).get_data(as_text=True)).group(1)
    fields = {"version": version, "problem": "Арал теңізі тартылып жатыр", "objectives": "Тоғайларды қалпына келтіру"}
    autosaved = post_form(client, page, fields, headers={"X-Autosave": "1"})
    assert autosaved.status_code == 200
    saved = post_form(client, page, fields | {"action": "save"})
    assert saved.status_code == 302, saved.get_data(as_text=True)[:500]
    assert "Сақталды" in client.get(saved.headers["Location"]).get_data(as_text=True)


def test_save_and_continue_opens_the_next_section_then_the_check_page(app, world, client):
    login(client, "lead@example.kz")
    base = f"/applications/{world.app.id}"
    page = client.get(base + "/edit/summary").get_data(as_text=True)
    assert "Сақтап, жалғастыру" in page
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    moved = post_form(client, base + "/edit/problem", {"version": version, "problem": "П", "next": "workplan"})
    assert moved.headers["Location"].endswith(base + "/edit/workplan")
    version = str(int(version) + 1)
    last = post_form(client, base + "/edit/declarations", {"version": version, "declarations-truthful": "y",
                                                          "next": "check"})  # fmt: skip
    assert last.headers["Location"].endswith(base + "/check")


def test_a_draft_can_be_taken_away_as_a_filled_in_pdf(app, ready, client):
    """For those who prepare text elsewhere: the blank form, and the draft as it is saved."""
    login(client, "lead@example.kz")
    page = client.get(f"/applications/{ready.app.id}/edit/summary").get_data(as_text=True)
    assert f'href="/applications/{ready.app.id}/application.pdf"' in page and "Сақталғанның PDF нұсқасы" in page
    pdf = client.get(f"/applications/{ready.app.id}/application.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "Таза Арал" in text and "Қатысушылар" in text
    assert client.get(f"/calls/{ready.call.id}/form.pdf").data.startswith(b"%PDF")


def test_rows_carry_visible_labels_and_a_template_for_adding_in_the_page(app, world, client):
    login(client, "lead@example.kz")
    html = client.get(f"/applications/{world.app.id}/edit/budget").get_data(as_text=True)
    assert 'data-label="Ұйым"' in html and 'data-label="Саны"' in html
    template = re.search(r'<template data-row-template="budget_lines">(.*?)</template>', html, re.S).group(1)
    assert 'name="budget_lines-__i__-description"' in template


# --- a draft started on the device ------------------------------------------------------------


def offline_form(world, **extra) -> dict:
    data = complete(world)
    fields = {"consortium_id": str(world.consortium.id), "offline_key": KEY, "title": data["title"],
              "summary": data["summary"], "requested_amount": str(data["requested_amount"]), "language": "kk",
              "problem": data["problem"], "objectives": data["objectives"], "activities": data["activities"],
              "workplan-0-activity": "Оқыту", "workplan-0-start_month": "1", "workplan-0-end_month": "3",
              f"partner_roles-{world.partner_org.id}": "Еріктілерді оқытады",
              "declarations-truthful": "y", "declarations-no_double_funding": "y", "declarations-consent": "y"}  # fmt: skip
    for i, line in enumerate(data["budget_lines"]):
        for field, value in line.items():
            fields[f"budget_lines-{i}-{field}"] = str(value)
    # rows added in the page get indexes after the last one: gaps are fine
    fields |= {"indicators-7-name": "Қатысушылар", "indicators-7-unit": "адам", "indicators-7-target": "40"}
    return fields | extra


def drafts_of(world) -> list[Application]:
    db.session.rollback()
    return list(db.session.execute(db.select(Application).where(Application.offline_key.is_not(None))).scalars())


def test_the_whole_form_opens_in_kazakh_with_every_section(app, world, client):
    login(client, "lead@example.kz")
    page = client.get(f"/calls/{world.call.id}/offline-draft")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Жаңа өтінім, осы құрылғыда жазылған" in html
    for name in ("title", "problem", "workplan-0-activity", "budget_lines-0-unit_cost", "indicators-0-target",
                 f"partner_roles-{world.partner_org.id}", "declarations-consent"):  # fmt: skip
        assert f'name="{name}"' in html
    assert world.consortium.name in html


def test_a_draft_written_offline_is_created_and_filled_at_once_and_a_resend_finds_it(app, world, client):
    login(client, "lead@example.kz")
    url = f"/calls/{world.call.id}/offline-draft"
    sent = post_form(client, url, offline_form(world), headers={"X-Autosave": "1"})
    assert sent.status_code == 200 and sent.is_json, sent.get_data(as_text=True)[:3000]
    [draft] = drafts_of(world)
    assert sent.json["url"] == f"/applications/{draft.id}/check"
    assert draft.title == "Таза Арал" and [i.name for i in draft.indicators] == ["Қатысушылар"]
    assert services.problems(draft) == []
    again = post_form(client, url, offline_form(world, title="Таза Арал 2"), headers={"X-Autosave": "1"})
    assert again.status_code == 200 and again.json["application_id"] == draft.id
    [draft] = drafts_of(world)
    assert draft.title == "Таза Арал 2"


def test_a_draft_with_a_bad_row_is_refused_whole_and_nothing_is_created(app, world, client):
    login(client, "lead@example.kz")
    url = f"/calls/{world.call.id}/offline-draft"
    bad = post_form(client, url, offline_form(world, **{"workplan-0-end_month": "99"}))
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert "Таза Арал" in html  # the text is given back, nothing is lost
    assert drafts_of(world) == []


def test_a_draft_for_a_consortium_one_does_not_lead_is_refused(app, world, client):
    login(client, "partner@example.kz")
    refused = post_form(client, f"/calls/{world.call.id}/offline-draft", offline_form(world),
                        headers={"X-Autosave": "1"})  # fmt: skip
    assert refused.status_code == 422 and refused.json["error"]["fields"]["consortium_id"]
    assert drafts_of(world) == []


def test_the_service_worker_and_a_fresh_token_are_served(client):
    worker = client.get("/sw.js")
    assert worker.status_code == 200 and worker.headers["Service-Worker-Allowed"] == "/"
    assert "javascript" in worker.mimetype
    token = client.get("/session/csrf")
    assert token.headers["Cache-Control"] == "no-store" and token.json["csrf_token"]
    assert client.get("/offline", headers={"Accept-Language": "kk"}).status_code == 200


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_sendings_of_one_offline_draft_at_once_make_one_draft(app, world, live_server):
    import urllib.parse

    base = live_server(app)
    path = f"/calls/{world.call.id}/offline-draft"
    cookie, csrf = browser_session(base, "lead@example.kz", path)
    body = urllib.parse.urlencode(offline_form(world) | {"csrf_token": csrf}).encode()
    headers = {"Cookie": cookie, "X-Autosave": "1", "Content-Type": "application/x-www-form-urlencoded"}
    results = fire(base, [("POST", path, None, body)] * 4, headers=headers)
    assert all(r.status in (200, 409) for r in results), [(r.status, r.body) for r in results]
    assert len(drafts_of(world)) == 1
    # the device sends again after a 409: it finds the one draft
    [retried] = fire(base, [("POST", path, None, body)], headers=headers)
    assert retried.status == 200 and retried.body["application_id"] == drafts_of(world)[0].id
