"""In Chromium: two NGOs form a consortium, the lead fills the application in Kazakh, loses
the connection while typing and gets it back without losing a word, then submits; the
receipt email carries the SHA-256 of exactly the stored snapshot."""

import hashlib
import re
from datetime import timedelta

import pytest
from conftest import _truncate_pg, browser_login, call_data
from playwright.sync_api import expect

from grants.applications.models import Application, Submission
from grants.core import clock
from grants.extensions import db
from grants.organizations.bin import complete_bin


@pytest.fixture
def site(make_app, pg_database, smtp_server, live_server, users, organization):
    host, port, inbox = smtp_server
    _truncate_pg(pg_database)
    app = make_app(pg_database, MAIL_SERVER=host, MAIL_PORT=port)
    base = live_server(app)
    app.config["BASE_URL"] = base
    with app.app_context():
        from grants.calls import services as calls

        manager = users("manager@example.kz", role="manager")
        lead = users("lead@example.kz", locale="kk")
        partner = users("partner@example.kz", locale="ru")
        organization(lead, name="Арал жасыл ұйымы", bin=complete_bin("20054000777"))
        organization(partner, name="Жосалы жастары", bin=complete_bin("21054000888"), public_profile="y")
        now = clock.now()
        call = calls.create(manager, call_data(opens_at=(now - timedelta(days=1)).isoformat(),
                                               closes_at=(now + timedelta(days=20)).isoformat()))  # fmt: skip
        calls.publish(manager, call)
        yield app, base, inbox, call.id


def test_offline_typing_is_kept_and_the_receipt_hash_matches(browser, site):
    app, base, inbox, call_id = site
    lead_ctx, partner_ctx = browser.new_context(), browser.new_context()
    lead = browser_login(lead_ctx, base, "lead@example.kz")
    assert lead.locator("html").get_attribute("lang") == "kk"

    lead.goto(base + "/consortia/new")
    lead.fill("#name", "Арал консорциумы")
    lead.fill("input[name=q]", "Жосалы")
    lead.click("button[value=search]")
    lead.check("input[name=partner]")
    lead.fill("#name", "Арал консорциумы")
    lead.click("button[value=create]")
    consortium_url = lead.url
    assert re.search(r"/consortia/\d+$", consortium_url)

    partner = browser_login(partner_ctx, base, "partner@example.kz")
    partner.goto(consortium_url)
    partner.click("button[value=confirm]")
    assert partner.locator(".flash.success").count() == 1

    lead.goto(f"{base}/calls/{call_id}/apply")
    lead.click("main button[type=submit]")
    assert lead.url.endswith("/edit/summary")
    lead.fill("#title", "Таза Арал")
    lead.fill("#requested_amount", "2000000")
    lead.fill("#summary", "Ауылдарда қалдықтарды бөлек жинау.")
    status = lead.locator("#save-status")
    expect(status).to_have_attribute("data-state", "saved")

    lead_ctx.set_offline(True)
    lead.locator("#summary").press_sequentially(" Интернет үзілді, бірақ мәтін сақталады.")
    expect(status).to_have_attribute("data-state", "local")
    app_id = int(re.search(r"/applications/(\d+)/", lead.url).group(1))
    with app.app_context():
        assert "үзілді" not in db.session.get(Application, app_id).summary
    lead_ctx.set_offline(False)
    expect(status).to_have_attribute("data-state", "saved")
    with app.app_context():
        assert db.session.get(Application, app_id).summary == (
            "Ауылдарда қалдықтарды бөлек жинау. Интернет үзілді, бірақ мәтін сақталады."
        )

    def section(name):
        lead.goto(f"{base}/applications/{app_id}/edit/{name}")

    section("problem")
    lead.fill("#problem", "Қоқыс ауладa өртеледі.")
    lead.fill("#objectives", "5 ауылда сұрыптау.")
    lead.click(".savebar button[value=save]")  # saved in the page (no round trip): the status line says so
    expect(status).to_have_attribute("data-state", "saved")
    section("workplan")
    lead.fill("#activities", "Еріктілерді оқыту, жинау пункттері.")
    lead.click("button[value=add_row]")
    lead.fill("input[name=workplan-0-activity]", "Оқыту")
    lead.fill("input[name=workplan-0-start_month]", "1")
    lead.fill("input[name=workplan-0-end_month]", "2")
    lead.click(".savebar button[value=save]")  # saved in the page (no round trip): the status line says so
    expect(status).to_have_attribute("data-state", "saved")
    section("budget")
    lead.click("button[value=add_row]")
    lead.fill("input[name=budget_lines-0-description]", "Семинарлар")
    lead.fill("input[name=budget_lines-0-quantity]", "4")
    lead.fill("input[name=budget_lines-0-unit_cost]", "500000")
    lead.click(".savebar button[value=save]")  # saved in the page (no round trip): the status line says so
    expect(status).to_have_attribute("data-state", "saved")
    section("indicators")
    lead.click("button[value=add_row]")
    lead.fill("input[name=indicators-0-name]", "Сұрыптайтын үйлер")
    lead.fill("input[name=indicators-0-unit]", "үй")
    lead.fill("input[name=indicators-0-baseline]", "0")
    lead.fill("input[name=indicators-0-target]", "300")
    lead.click(".savebar button[value=save]")  # saved in the page (no round trip): the status line says so
    expect(status).to_have_attribute("data-state", "saved")
    section("partners")
    lead.locator("textarea").first.fill("Еріктілерді оқытады.")
    lead.click(".savebar button[value=save]")  # saved in the page (no round trip): the status line says so
    expect(status).to_have_attribute("data-state", "saved")
    section("declarations")
    for box in lead.locator("input[type=checkbox]").all():
        box.check()
    lead.click(".savebar button[value=save]")  # saved in the page (no round trip): the status line says so
    expect(status).to_have_attribute("data-state", "saved")

    lead.goto(f"{base}/applications/{app_id}/check")
    assert lead.locator(".alert").count() == 0, lead.inner_text("main")
    lead.click("main form button[type=submit]")
    expect(lead.locator(".flash.success")).to_contain_text("SG-2027-1-0001")

    receipts = [m for m in inbox.wait_for(1) if "SG-2027-1-0001" in (m["Subject"] or "")]
    assert receipts, [m["Subject"] for m in inbox.messages]
    mailed = re.search(r"SHA-256: ([0-9a-f]{64})", receipts[0].get_body(preferencelist=("plain",)).get_content()).group(
        1
    )
    with app.app_context():
        submission = db.session.execute(db.select(Submission)).scalar_one()
        assert mailed == submission.sha256 == hashlib.sha256(submission.snapshot.encode()).hexdigest()
        assert "Интернет үзілді, бірақ мәтін сақталады." in submission.snapshot
    lead_ctx.close()
    partner_ctx.close()
