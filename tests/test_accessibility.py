"""axe-core (from the npm registry, injected by Playwright) finds no serious or critical
accessibility violations on the main pages, in Kazakh."""

from pathlib import Path

import pytest
from conftest import PASSWORD, call_data, complete_two_factor

ROOT = Path(__file__).resolve().parent.parent
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"

# Markup does not depend on the database: checked once, on PostgreSQL.
pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@pytest.fixture
def site(app, live_server, users, organization, manager, frozen):
    from applications.conftest import complete

    from grants.applications import services as applications
    from grants.calls import services as calls
    from grants.consortia import services as consortia
    from grants.organizations.bin import complete_bin

    call = calls.create(manager, call_data())
    calls.publish(manager, call)
    users("reviewer@example.kz", role="reviewer")
    lead, partner = users("lead@example.kz", locale="kk"), users("partner@example.kz")
    lead_org = organization(lead, public_profile="y")
    partner_org = organization(partner, name="P", bin=complete_bin("21054000888"))
    consortium = consortia.create(
        lead, name="C", lead_organization_id=lead_org.id, partner_organization_ids=[partner_org.id]
    )
    consortia.respond(partner, consortium, organization_id=partner_org.id, accept=True)
    application = applications.create(lead, call, consortium)

    class World:
        pass

    World.lead_org, World.partner_org = lead_org, partner_org
    applications.save(lead, application, complete(World), version=application.version)
    return live_server(app), call, application


def violations(page) -> list[dict]:
    page.add_script_tag(content=AXE.read_text())
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [{"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:3]}
            for v in result["violations"] if v["impact"] in ("serious", "critical")]  # fmt: skip


def test_no_serious_accessibility_violations(browser, site):
    if not AXE.exists():
        pytest.fail("axe-core is missing: run `npm ci` (make test does)")
    base, call, application = site
    context = browser.new_context(bypass_csp=True, locale="kk-KZ")  # CSP would block the injected checker only
    page = context.new_page()
    found = {}
    for path in ("/", "/calls", f"/calls/{call.id}", "/register", "/login", "/subscribe", "/directory"):
        page.goto(base + path)
        found[path] = violations(page)
    page.goto(base + "/login")
    page.fill("#email", "lead@example.kz")
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    for section in ("summary", "budget", "indicators", "workplan", "declarations"):
        path = f"/applications/{application.id}/edit/{section}"
        page.goto(base + path)
        found[path] = violations(page)
    for path in ("/home", f"/applications/{application.id}", f"/applications/{application.id}/check", "/consortia/new"):
        page.goto(base + path)
        found[path] = violations(page)
    context.close()
    for email, paths in (
        ("reviewer@example.kz", ["/home", "/reviews", "/reviewer/profile"]),
        ("manager@example.kz", ["/home", "/manage/calls", f"/manage/calls/{call.id}", f"/manage/calls/{call.id}/review",
                                f"/manage/calls/{call.id}/ranking", f"/manage/calls/{call.id}/awards",
                                "/manage/organizations", "/manage/reviewers"]),
    ):  # fmt: skip
        context = browser.new_context(bypass_csp=True, locale="ru-RU")
        page = context.new_page()
        page.goto(base + "/login")
        page.fill("#email", email)
        page.fill("#password", PASSWORD)
        page.click("main button[type=submit]")
        complete_two_factor(page, base, email)  # the manager sets TOTP up at the first login
        for path in paths:
            page.goto(base + path)
            found[f"{email} {path}"] = violations(page)
        context.close()
    assert {path: v for path, v in found.items() if v} == {}
