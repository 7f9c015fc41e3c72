"""Issue 12 ("Reach"), in Chromium on a 400 px phone in Kazakh:
- offline from the first page, on the throttled link: the lead opens the call's application page, loses the connection,
  starts a new draft, fills every section and adds rows with no connection, reloads the page
  (nothing lost), gets the connection back, and submits: every word is on the server;
- on a throttled link (256/128 kbit/s, 800 ms), Save and "Add a row" pressed while an autosave is
  in flight never give a false conflict, and rows are added in the page without a round trip.

The connection is cut at a relay in front of the server (tests/netproxy.py) as well as with
Chromium's offline switch, because that switch does not reach the service worker."""

from datetime import timedelta

import pytest
from conftest import _truncate_pg, browser_login, call_data
from netproxy import Relay
from playwright.sync_api import expect

from grants.applications.models import Application
from grants.core import clock
from grants.extensions import db
from grants.organizations.bin import complete_bin

PHONE = {"viewport": {"width": 400, "height": 800}, "locale": "kk-KZ", "extra_http_headers": {"Accept-Language": "kk"}}
THROTTLED = {"offline": False, "latency": 800, "downloadThroughput": 256 * 1024 / 8, "uploadThroughput": 128 * 1024 / 8}


@pytest.fixture
def site(make_app, pg_database, live_server, users, organization):
    _truncate_pg(pg_database)
    app = make_app(pg_database)
    relay = Relay(int(live_server(app).rsplit(":", 1)[1]))
    app.config["BASE_URL"] = relay.base
    with app.app_context():
        from grants.calls import services as calls
        from grants.consortia import services as consortia

        manager = users("manager@example.kz", role="manager")
        lead = users("lead@example.kz", locale="kk")
        partner = users("partner@example.kz", locale="ru")
        lead_org = organization(lead, name="Арал жасыл ұйымы", bin=complete_bin("20054000777"))
        partner_org = organization(partner, name="Жосалы жастары", bin=complete_bin("21054000888"))
        now = clock.now()
        call = calls.create(manager, call_data(opens_at=(now - timedelta(days=1)).isoformat(),
                                               closes_at=(now + timedelta(days=20)).isoformat()))  # fmt: skip
        calls.publish(manager, call)
        consortium = consortia.create(lead, name="Арал консорциумы", lead_organization_id=lead_org.id,
                                      partner_organization_ids=[partner_org.id])  # fmt: skip
        consortia.respond(partner, consortium, organization_id=partner_org.id, accept=True)
        db.session.commit()
        yield app, relay, call.id, partner_org.id
    relay.close()


def stored(app) -> list[Application]:
    with app.app_context():
        return list(db.session.execute(db.select(Application).order_by(Application.id)).scalars())


def throttle(context, page) -> None:
    """The rural link of the phone walkthrough: 256/128 kbit/s, 800 ms."""
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", THROTTLED)


def fill_row(page, kind: str, values: dict) -> None:
    """Fill the last row of a table (the one just added)."""
    for field, value in values.items():
        page.locator(f"[name^='{kind}-'][name$='-{field}']").last.fill(value)


def test_a_draft_started_and_written_with_no_connection_is_submitted_when_it_returns(browser, site):
    app, relay, call_id, partner_id = site
    context = browser.new_context(**PHONE)
    page = browser_login(context, relay.base, "lead@example.kz")
    throttle(context, page)
    answers = []
    page.on("response", lambda r: answers.append(r.status) if r.request.method == "POST" else None)
    page.goto(f"{relay.base}/calls/{call_id}/apply")
    # the service worker looks after the page and keeps the whole form for a new draft
    expect(page.locator("[data-offline-urls]")).to_have_attribute("data-offline-ready", "", timeout=20000)
    expect(page.locator("[data-offline-urls]")).to_contain_text("байланыссыз")
    relay.cut()
    context.set_offline(True)
    page.click("main button[type=submit]")  # "Start the application", with no connection
    expect(page.locator("h1")).to_have_text("Жаңа өтінім, осы құрылғыда жазылған")
    status = page.locator("#save-status")

    page.fill("#title", "Арал тоғайлары")
    page.fill("#summary", "Сексеуіл отырғызу және жастарды оқыту.")
    page.fill("#requested_amount", "2000000")
    page.fill("#problem", "Арал теңізінің табаны шөлге айналды.")
    page.fill("#objectives", "Бес гектар сексеуіл.")
    page.fill("#activities", "Көктемде отырғызу, күзде суару.")
    fill_row(page, "workplan", {"activity": "Көшет дайындау", "start_month": "1", "end_month": "2"})
    page.click("button[data-add-row=workplan]")
    fill_row(page, "workplan", {"activity": "Отырғызу", "start_month": "3", "end_month": "4"})
    fill_row(page, "budget_lines", {"description": "Көшеттер", "quantity": "1000", "unit_cost": "1500"})
    page.click("button[data-add-row=budget_lines]")
    fill_row(page, "budget_lines", {"description": "Жастарға семинар", "quantity": "1", "unit_cost": "500000"})
    page.locator("select[name$='-organization_id']").last.select_option(str(partner_id))
    fill_row(page, "indicators", {"name": "Отырғызылған гектар", "unit": "га", "target": "5"})
    page.click("button[data-add-row=indicators]")
    fill_row(page, "indicators", {"name": "Оқытылған жастар", "unit": "адам", "target": "40"})
    page.fill(f"#partner_roles-{partner_id}", "Жастарды жинайды")
    for key in ("truthful", "no_double_funding", "consent"):
        page.check(f"#declarations-{key}")
    expect(status).to_have_attribute("data-state", "local")
    assert stored(app) == []  # nothing reached the server

    page.reload()  # still no connection: the page is the copy on the device, the text is restored
    assert page.input_value("#title") == "Арал тоғайлары"
    assert page.locator("[name$='-activity']").last.input_value() == "Отырғызу"
    assert page.locator("[name$='-unit_cost']").count() == 2

    relay.restore()
    context.set_offline(False)  # the connection is back: the page sends what the device kept…
    expect(status).to_have_attribute("data-state", "saved", timeout=40000)
    expect(status.locator("a")).to_have_text("Сервердегі қараламаны ашу")  # …and links to the draft
    page.fill("#objectives", "Бес гектар сексеуіл, жүз жас еріктілер.")  # written after it was sent
    page.click(".savebar button[value=save]")  # "Send to the server": saved on top, then opened
    expect(page.locator("h1")).to_contain_text("Тексеру")
    page.click("main form button[type=submit]")  # submit
    expect(page.locator(".flash")).to_contain_text("Түбіртек нөмірі")

    [draft] = stored(app)
    assert draft.title == "Арал тоғайлары" and draft.activities == "Көктемде отырғызу, күзде суару."
    assert draft.objectives == "Бес гектар сексеуіл, жүз жас еріктілер."
    assert [w.activity for w in draft.workplan] == ["Көшет дайындау", "Отырғызу"]
    assert [(b.description, b.organization_id) for b in draft.budget_lines][1] == ("Жастарға семинар", partner_id)
    assert [i.name for i in draft.indicators] == ["Отырғызылған гектар", "Оқытылған жастар"]
    assert draft.partner_roles == {str(partner_id): "Жастарды жинайды"} and all(draft.declarations.values())
    assert draft.number == 1  # submitted, with its receipt
    assert 409 not in answers

    kept = "caches.open('grants-pages-v1').then(c => c.keys()).then(k => k.map(r => new URL(r.url).pathname))"
    assert f"/calls/{call_id}/offline-draft" in page.evaluate(kept)
    page.click("header form button[type=submit]")  # log out: the pages kept on the device are dropped
    expect(page.locator("header")).to_contain_text("Кіру")
    assert page.evaluate(kept) == []
    context.close()


def test_save_and_add_row_during_autosaves_on_a_throttled_link_give_no_false_conflict(browser, site):
    app, relay, call_id, partner_id = site
    context = browser.new_context(**PHONE)
    page = browser_login(context, relay.base, "lead@example.kz")
    page.goto(f"{relay.base}/calls/{call_id}/apply")
    page.click("main button[type=submit]")
    [draft] = stored(app)
    throttle(context, page)
    answers, loads = [], []
    page.on("response", lambda r: answers.append(r.status) if r.request.method == "POST" else None)
    page.on("framenavigated", lambda frame: loads.append(frame.url) if frame == page.main_frame else None)

    page.goto(f"{relay.base}/applications/{draft.id}/edit/problem")
    status = page.locator("#save-status")
    page.fill("#problem", "Арал теңізінің табаны шөлге айналды")
    expect(status).to_have_attribute("data-state", "sending")  # the autosave is in flight…
    page.fill("#objectives", "Бес гектар сексеуіл отырғызу")
    page.click(".savebar button[value=save]")  # …and Save is pressed
    expect(status).to_have_attribute("data-state", "saved", timeout=30000)
    page.wait_for_function("!document.querySelector('#save-status').textContent.includes('…')")

    loads.clear()
    page.goto(f"{relay.base}/applications/{draft.id}/edit/budget")
    fill_row(page, "budget_lines", {"description": "Көшеттер", "quantity": "1000", "unit_cost": "1500"})
    expect(status).to_have_attribute("data-state", "sending")
    page.click("button[data-add-row=budget_lines]")  # while the autosave is in flight
    fill_row(page, "budget_lines", {"description": "Семинар", "quantity": "2", "unit_cost": "250000"})
    page.click("button[data-add-row=budget_lines]")
    fill_row(page, "budget_lines", {"description": "Көлік", "quantity": "4", "unit_cost": "50000"})
    assert len(loads) == 1  # rows were added in the page
    page.click("button[name=next]")  # Save and continue
    page.wait_for_url(f"**/applications/{draft.id}/edit/indicators", timeout=30000)

    assert 409 not in answers
    [draft] = stored(app)
    assert draft.problem == "Арал теңізінің табаны шөлге айналды"
    assert draft.objectives == "Бес гектар сексеуіл отырғызу"
    assert [(b.description, b.quantity, b.unit_cost) for b in draft.budget_lines] == [
        ("Көшеттер", 1000, 1500), ("Семинар", 2, 250000), ("Көлік", 4, 50000)]  # fmt: skip
    context.close()


def test_enter_removed_rows_and_a_shared_device_keep_each_persons_text(browser, site):
    """Enter in a row's field saves (it does not press that row's Remove); a row removed with no
    connection stays removed after a reload; text one person left unsent on a shared computer
    is neither shown to nor sent for the next person who signs in there."""
    app, relay, call_id, partner_id = site
    context = browser.new_context(**PHONE)
    page = browser_login(context, relay.base, "lead@example.kz")
    page.goto(f"{relay.base}/calls/{call_id}/apply")
    page.click("main button[type=submit]")
    [draft] = stored(app)
    budget = f"{relay.base}/applications/{draft.id}/edit/budget"
    page.goto(budget)
    status = page.locator("#save-status")
    fill_row(page, "budget_lines", {"description": "Көшеттер", "quantity": "10", "unit_cost": "1500"})
    page.click("button[data-add-row=budget_lines]")
    fill_row(page, "budget_lines", {"description": "Семинар", "quantity": "1", "unit_cost": "90000"})
    page.locator("[name$='-description']").first.press("Enter")
    expect(status).to_have_attribute("data-state", "saved")
    assert [b.description for b in stored(app)[0].budget_lines] == ["Көшеттер", "Семинар"]

    page.wait_for_function("navigator.serviceWorker && navigator.serviceWorker.controller !== null")
    page.reload()  # now through the service worker: the page is kept on the device
    relay.cut()
    context.set_offline(True)
    page.locator("button[data-remove-row]").first.click()  # "Көшеттер" removed with no connection
    page.locator("[name$='-description']").first.fill("Семинар жастарға")
    expect(status).to_have_attribute("data-state", "local")
    page.reload()
    assert page.locator("[name$='-description']").evaluate_all("fields => fields.map(f => f.value)") == [
        "Семинар жастарға"
    ]

    # the lead leaves it there; the connection returns after the page is closed and the session ended
    page.close()
    context.clear_cookies()
    relay.restore()
    context.set_offline(False)
    page = browser_login(context, relay.base, "partner@example.kz")  # another person, same computer
    page.goto(budget)
    assert "Семинар жастарға" not in page.content()
    assert page.locator("[name$='-description']").evaluate_all("fields => fields.map(f => f.value)") == [
        "Көшеттер",
        "Семинар",
    ]
    assert page.locator("#save-status").get_attribute("data-state") is None
    assert [b.description for b in stored(app)[0].budget_lines] == ["Көшеттер", "Семинар"]

    # the lead signs in again there: the text kept on the device is sent, whatever page is open
    context.clear_cookies()
    page = browser_login(context, relay.base, "lead@example.kz")
    expect(page.locator(".flash.device")).to_contain_text("Осы құрылғыда сақталған мәтініңіз енді серверде")
    assert [b.description for b in stored(app)[0].budget_lines] == ["Семинар жастарға"]
    context.close()
