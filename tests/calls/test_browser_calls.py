"""In Chromium: a manager creates and publishes a call in Russian; an anonymous visitor on a
400-px-wide phone screen finds it in Kazakh; feeds parse; the subscriber is told once."""

import re
from datetime import timedelta

import feedparser
import pytest
from conftest import PASSWORD, _truncate_pg, complete_two_factor
from icalendar import Calendar

from grants.alerts.models import Notification
from grants.core import clock
from grants.extensions import db
from grants.i18n import zone


@pytest.fixture
def site(make_app, pg_database, smtp_server, live_server, users):
    host, port, inbox = smtp_server
    _truncate_pg(pg_database)
    app = make_app(pg_database, MAIL_SERVER=host, MAIL_PORT=port)
    base = live_server(app)
    app.config["BASE_URL"] = base
    with app.app_context():
        users("manager@example.kz", role="manager", locale="ru")
        from grants.subscriptions.models import Subscription

        db.session.add(Subscription(email="ngo@example.kz", language="kk", confirmed_at=clock.now()))
        db.session.commit()
        yield app, base, inbox


def test_manager_publishes_and_a_phone_visitor_finds_it_in_kazakh(browser, site):
    app, base, inbox = site
    deadline = (clock.now() + timedelta(days=40)).astimezone(zone()).replace(hour=18, minute=0, second=0, microsecond=0)
    manager = browser.new_context()
    page = manager.new_page()
    page.goto(base + "/login")
    page.fill("#email", "manager@example.kz")
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    complete_two_factor(page, base, "manager@example.kz")  # managers set TOTP up at their first login
    assert page.locator("html").get_attribute("lang") == "ru"

    page.goto(base + "/manage/calls/new")
    page.fill("#code", "SG-2027-9")
    page.fill("#title_ru", "Чистые реки Приаралья")
    page.fill("#title_kk", "Арал өңірінің таза өзендері")
    page.fill("#envelope", "60000000")
    page.fill("#min_amount", "1000000")
    page.fill("#max_amount", "4000000")
    page.fill("#opens_at", (clock.now() - timedelta(days=1)).astimezone(zone()).strftime("%Y-%m-%dT%H:%M"))
    page.fill("#closes_at", deadline.strftime("%Y-%m-%dT%H:%M"))
    page.check("input[name=themes][value=water]")
    rows = [
        ("relevance", "Актуальность", "30"),
        ("feasibility", "Реалистичность", "40"),
        ("impact", "Результаты", "30"),
    ]
    for i, (key, title, weight) in enumerate(rows):
        if i:
            page.click("button[value=add_criterion]")
        page.fill(f"#criteria-{i}-key", key)
        page.fill(f"#criteria-{i}-title_ru", title)
        page.fill(f"#criteria-{i}-weight", weight)
        page.fill(f"#criteria-{i}-max_score", "10")
    page.click("button[value=save]")
    assert re.search(r"/manage/calls/\d+$", page.url), page.inner_text("main")[:500]
    page.click("form[action$='/status'] button")
    assert page.locator(".flash.success").count() == 1

    visitor = browser.new_context(viewport={"width": 400, "height": 800}, locale="kk-KZ")
    phone = visitor.new_page()
    phone.goto(base + "/calls")
    assert phone.locator("html").get_attribute("lang") == "kk"
    listing = phone.inner_text("main")
    assert "Арал өңірінің таза өзендері" in listing
    assert "Астана уақытымен " + deadline.strftime("18:00") + " (UTC+5)" in listing
    assert phone.evaluate("document.documentElement.scrollWidth") <= 400
    phone.click("text=Арал өңірінің таза өзендері")
    assert "30 %" in phone.inner_text("main") and "40 %" in phone.inner_text("main")

    feed = feedparser.parse(visitor.request.get(base + "/calls/feed.atom").body())
    assert not feed.bozo and feed.entries[0].title.startswith("SG-2027-9")
    calendar = Calendar.from_ical(visitor.request.get(base + "/calls/deadlines.ics").body())
    [event] = calendar.walk("VEVENT")
    assert event.decoded("dtstart") == deadline

    # The manager was told when two-factor login was set up; the subscriber gets the announcement.
    [announcement] = [m for m in inbox.wait_for(2) if m["To"] == "ngo@example.kz"]
    assert "Арал өңірінің таза өзендері" in announcement["Subject"]
    with app.app_context():
        keys = db.session.execute(db.select(Notification.key).where(Notification.recipient == "ngo@example.kz"))
        keys = keys.scalars().all()
    assert len(keys) == 1 and keys[0].startswith("announcement:call:")  # announced once
    assert [m["To"] for m in inbox.messages].count("ngo@example.kz") == 1
    manager.close()
    visitor.close()
