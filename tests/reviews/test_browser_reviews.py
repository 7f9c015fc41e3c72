"""In Chromium: a reviewer declares no conflict, scores and submits; after the decision the
applicant reads the breakdown of their score in Kazakh."""

import pytest
from conftest import browser_login
from playwright.sync_api import expect

from grants.extensions import db
from grants.reviews import services
from grants.reviews.models import Assignment
from reviews.conftest import score_all

# The browser path does not depend on the database: once, on PostgreSQL.
pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


def test_reviewer_scores_and_the_applicant_reads_the_breakdown(browser, stage, app, live_server):
    base = live_server(app)
    for application in stage.apps:
        services.set_eligibility(stage.manager, application, eligible=True, reason="")
    services.auto_assign(stage.manager, stage.call)
    target = db.session.execute(db.select(Assignment).where(Assignment.application_id == stage.apps[1].id)
                                .order_by(Assignment.seat)).scalars().first()  # fmt: skip
    reviewer_ctx = browser.new_context()
    page = browser_login(reviewer_ctx, base, target.reviewer.email)
    page.goto(base + "/reviews")
    page.click(f"a[href='/reviews/{target.id}']")
    expect(page.locator("h1")).to_be_visible()
    assert "Таза Арал" not in page.inner_text("main")  # closed until the declaration
    page.check("#pledge")
    page.check("input[name=conflict][value=no]")
    page.click("main form button[type=submit]")
    assert "Таза Арал" in page.inner_text("main")
    page.fill("#score-relevance", "11")
    page.click("button[value=submit]")
    expect(page.locator(".errors").first).to_be_visible()
    for key, value in (("relevance", "8"), ("feasibility", "7"), ("impact", "4")):
        page.fill(f"#score-{key}", value)
    page.fill("#comment-relevance", "Мәселе нақты сипатталған.")
    page.click("button[value=save]")
    expect(page.locator(".flash.success")).to_have_count(1)
    page.check("#confirm-submit")
    page.click("button[value=submit]")
    expect(page.locator("#score-relevance")).to_have_attribute("readonly", "")
    reviewer_ctx.close()

    db.session.expire_all()
    score_all(stage, lambda a: {"relevance": 6, "feasibility": 6, "impact": 3})
    services.decide(stage.manager, stage.call, apply_selection=True)

    applicant_ctx = browser.new_context()
    page = browser_login(applicant_ctx, base, "lead1@example.kz")  # a Kazakh-speaking lead
    page.goto(f"{base}/applications/{stage.apps[1].id}")
    page.click(f"a[href='/applications/{stage.apps[1].id}/result']")
    text = page.inner_text("main")
    assert page.locator("html").get_attribute("lang") == "kk"
    assert "Мәселе нақты сипатталған." in text
    assert "8 / 10" in text and target.reviewer.email not in text
    assert "сарапшы" in text.lower()
    applicant_ctx.close()
