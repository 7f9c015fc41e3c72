"""Issue 13 ("Communication"), in Chromium: an applicant declared ineligible reads the reason in
Kazakh and appeals, the manager upholds it and the application goes on to the review; a rejected
applicant appeals, the appeal is upheld, a new decision is published with its justification and
the public results say what the appeal changed. (The clarification walk — a manager asks for a
document, the applicant answers with a file, the reviewer sees it — is
tests/clarifications/test_browser_clarifications.py.)"""

import pytest
from conftest import browser_login
from playwright.sync_api import expect
from reviews.conftest import score_all, stage  # noqa: F401

from grants.applications.models import Application
from grants.extensions import db
from grants.reviews import services

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
PHONE = {"viewport": {"width": 400, "height": 800}, "locale": "kk-KZ"}


def status(app_id: int) -> str:
    db.session.rollback()
    return db.session.get(Application, app_id).status


def test_ineligible_and_rejected_applicants_read_why_and_appeals_change_the_outcome(browser, app, stage, live_server):  # noqa: F811
    base = live_server(app)
    ineligible, rejected = stage.apps[2], stage.apps[1]
    services.set_eligibility(stage.manager, ineligible, eligible=False, reason="Жарғының көшірмесі жоқ")
    for application in stage.apps[:2]:
        services.set_eligibility(stage.manager, application, eligible=True, reason="")
    db.session.commit()

    # the ineligible applicant (Kazakh) reads the reason and appeals
    lead = browser_login(browser.new_context(**PHONE), base, "lead2@example.kz")
    lead.goto(f"{base}/applications/{ineligible.id}")
    lead.click("text=Талаптарға сәйкестік тексерісі")
    expect(lead.locator("main")).to_contain_text("Өтініміңіз талаптарға сәйкестік тексерісінен өтпеді")
    expect(lead.locator("main")).to_contain_text("Себебі: Жарғының көшірмесі жоқ")
    lead.fill("#reason", "Жарғының көшірмесі үшінші қосымшада тіркелген, 4-бет.")
    lead.click("main button[type=submit]")
    expect(lead.locator(".flash")).to_be_visible()
    expect(lead.locator("main")).to_contain_text("Жарғының көшірмесі үшінші қосымшада")

    # the manager upholds it: the application goes on to the review
    manager = browser_login(browser.new_context(locale="ru-RU"), base, "manager@example.kz")
    manager.goto(f"{base}/manage/calls/{stage.call.id}/appeals")
    form = manager.locator("section", has_text="Жарғының көшірмесі үшінші қосымшада")
    form.locator("textarea[name=answer]").fill("Устав действительно приложен. Заявка допущена к экспертизе.")
    form.locator("input[name=confirm]").check()
    form.locator("button[value=upheld]").click()
    assert status(ineligible.id) == "eligible"
    lead.reload()
    expect(lead.locator("main")).to_contain_text("Устав действительно приложен")

    # review and decisions: the second application is rejected against the computed selection
    services.auto_assign(stage.manager, stage.call)
    score_all(stage, lambda a: {"relevance": 5, "feasibility": 5, "impact": 3})
    services.decide(stage.manager, stage.call, [
        {"application_id": a.id, "outcome": "award" if a.id != rejected.id else "reject",
         "justification": "Бюджет превышает лимит программы для этого региона."} for a in stage.apps])  # fmt: skip
    db.session.commit()
    assert status(rejected.id) == "rejected"
    rejected_lead = browser_login(browser.new_context(**PHONE), base, "lead1@example.kz")
    rejected_lead.goto(f"{base}/applications/{rejected.id}/result")
    expect(rejected_lead.locator("main")).to_contain_text("грант беруден бас тартылды")
    rejected_lead.fill("#reason", "Бюджет лимиттен аспайды: өңірлік шектеу 5 млн теңге, біз 2 млн сұрадық.")
    rejected_lead.click("main button[type=submit]")
    expect(rejected_lead.locator(".flash")).to_be_visible()

    manager.goto(f"{base}/manage/calls/{stage.call.id}/appeals")
    form = manager.locator("section", has_text="өңірлік шектеу 5 млн")
    form.locator("textarea[name=answer]").fill("Лимит применён неверно. Решение будет принято заново.")
    form.locator("input[name=confirm]").check()
    form.locator("button[value=upheld]").click()
    from grants.reviews.models import Decision

    decision = db.session.execute(db.select(Decision).filter_by(application_id=rejected.id)).scalar_one()
    db.session.refresh(decision)
    services.decide(stage.manager, stage.call, [{"application_id": rejected.id, "outcome": "award",
                                                 "version": decision.version, "justification":
                                                 "После апелляции: лимит региона не превышен."}])  # fmt: skip
    db.session.commit()
    assert status(rejected.id) == "awarded"

    rejected_lead.goto(f"{base}/applications/{rejected.id}/result")
    expect(rejected_lead.locator("main")).to_contain_text("грант берілді")
    public = browser.new_context(locale="ru-RU").new_page()
    public.goto(f"{base}/language/ru")
    public.goto(f"{base}/calls/{stage.call.id}/results")
    expect(public.locator("main")).to_contain_text("По удовлетворённым апелляциям: решение изменилось — 1")
    expect(public.locator("main")).to_contain_text("После апелляции: лимит региона не превышен.")
