"""End to end in Chromium: a Kazakh-speaking NGO worker registers, confirms the email that
the SMTP server received, logs in, creates an organization and sees it listed."""

import re

import pytest
from conftest import _truncate_pg

from grants.organizations.bin import complete_bin

KAZAKH = set("әғқңөұүһі")


@pytest.fixture
def site(make_app, pg_database, smtp_server, live_server):
    host, port, inbox = smtp_server
    _truncate_pg(pg_database)
    app = make_app(pg_database, MAIL_SERVER=host, MAIL_PORT=port)
    base = live_server(app)
    app.config["BASE_URL"] = base
    return base, inbox


def test_register_in_kazakh_confirm_by_email_log_in_and_create_an_organization(browser, site):
    base, inbox = site
    context = browser.new_context(locale="ru-RU")
    page = context.new_page()
    page.goto(base + "/")
    assert page.locator("html").get_attribute("lang") == "ru"
    page.click("text=Қазақша")
    assert page.locator("html").get_attribute("lang") == "kk"

    page.click("header a[href='/register']")
    page.fill("#name", "Әсел Қайратқызы")
    page.fill("#email", "asel@example.kz")
    page.fill("#password", "көкшетау-көлдері-2026")
    page.fill("#confirm", "көкшетау-көлдері-2026")
    assert page.locator("#locale").input_value() == "kk"
    page.click("main button[type=submit]")
    assert "asel@example.kz" in page.inner_text("main")

    [msg] = inbox.wait_for(1)
    assert KAZAKH & set(msg["Subject"])
    text = msg.get_body(preferencelist=("plain",)).get_content()
    link = re.search(r"http://\S+/verify-email/\S+", text).group(0)
    page.goto(link)
    assert page.url.endswith("/login")
    assert KAZAKH & set(page.inner_text(".flash"))

    page.fill("#email", "asel@example.kz")
    page.fill("#password", "көкшетау-көлдері-2026")
    page.click("main button[type=submit]")
    assert page.url.endswith("/home")

    page.click("main a[href='/organizations/new']")
    page.fill("#name", "«Көкшетау көлдері» қоғамдық қоры")
    page.select_option("#legal_form", "public_fund")
    page.fill("#bin", complete_bin("21034000555"))
    page.select_option("#region", "akmola")
    page.select_option("#settlement", "rural")
    page.fill("#settlement_name", "Бурабай")
    page.fill("#board_total", "4")
    page.fill("#board_women", "3")
    page.click("main button[type=submit]")
    assert "«Көкшетау көлдері» қоғамдық қоры" in page.inner_text("h1")
    assert "Ақмола облысы" in page.inner_text("main")

    page.goto(base + "/organizations")
    assert "«Көкшетау көлдері» қоғамдық қоры" in page.inner_text("main")
    assert page.locator("html").get_attribute("lang") == "kk"
    context.close()


def test_forms_work_with_javascript_turned_off(browser, site):
    base, _inbox = site
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(base + "/register")
    page.fill("#name", "Без JS")
    page.fill("#email", "nojs@example.kz")
    page.fill("#password", "short")
    page.fill("#confirm", "short")
    page.click("main button[type=submit]")
    assert page.locator(".errors").count() >= 1
    assert page.locator("#email").input_value() == "nojs@example.kz"
    context.close()
