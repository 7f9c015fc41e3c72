"""In Chromium: the reviewer types scores (a decimal comma too) and the live total that
review.js shows is the total the server computes and shows after Save; on a wide screen the
application is beside the rubric, on a phone one after the other; the conflict radios are not
stretched."""

import pytest
from conftest import browser_login
from playwright.sync_api import expect

from grants.extensions import db
from grants.reviews import services
from grants.reviews.models import Assignment

# The browser path does not depend on the database: once, on PostgreSQL.
pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


def test_the_live_total_equals_the_total_the_server_shows_after_saving(browser, stage, app, live_server):
    base = live_server(app)
    for application in stage.apps:
        services.set_eligibility(stage.manager, application, eligible=True, reason="")
    services.auto_assign(stage.manager, stage.call)
    target = db.session.execute(db.select(Assignment).where(Assignment.application_id == stage.apps[1].id)
                                .order_by(Assignment.seat)).scalars().first()  # fmt: skip
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="kk-KZ")
    page = browser_login(context, base, target.reviewer.email)
    page.goto(base + "/language/kk")
    page.goto(f"{base}/reviews/{target.id}")

    radio = page.locator("#conflict-no")
    expect(radio).not_to_be_checked()
    assert radio.bounding_box()["width"] < 40  # not stretched to the form's width
    page.click("main form button[type=submit]")  # no answer chosen: refused, in Kazakh
    expect(page.locator(".flash.error")).to_contain_text("мүдделер қақтығысыңыз")
    page.check("#pledge")
    page.check("#conflict-no")
    page.click("main form button[type=submit]")

    pane, rubric = page.locator(".app-pane").bounding_box(), page.locator(".rubric").bounding_box()
    assert rubric["x"] > pane["x"] + pane["width"] - 1  # side by side on a wide screen
    total = page.locator("#running-total")
    expect(total).to_have_text("—")
    cases = [
        ({"relevance": "7,3"}, "21,90"),
        ({"relevance": "7,3", "feasibility": "0,05"}, "22,10"),
        ({"relevance": "7,3", "feasibility": "0,05", "impact": "2,75"}, "38,60"),
        ({"relevance": "9", "feasibility": "6.5", "impact": "3"}, "71,00"),
    ]
    for scores, expected in cases:
        for key in ("relevance", "feasibility", "impact"):
            page.fill(f"#score-{key}", scores.get(key, ""))
        live = total.inner_text()
        assert live == expected, (scores, live)
        page.click("button[value=save]")
        expect(page.locator(".flash.success")).to_have_count(1)
        assert page.locator("#running-total").inner_text() == live  # the server's own total after saving
    expect(page.locator("#total-partial")).to_be_hidden()
    page.fill("#score-impact", "")
    expect(page.locator("#total-partial")).to_be_visible()
    page.fill("#score-impact", "1,234")  # refused by the server: left out live too
    assert total.inner_text() == "53,00"  # 27 + 26

    page.set_viewport_size({"width": 390, "height": 800})
    pane, rubric = page.locator(".app-pane").bounding_box(), page.locator(".rubric").bounding_box()
    assert rubric["y"] >= pane["y"] + pane["height"] - 1  # one after the other on a phone
    context.close()
