"""In Chromium with JavaScript off, on a phone-sized screen: a manager writing in Kazakh previews who
receives a message to a call's reviewers, then sends it; each reviewer gets it once."""

import pytest
from conftest import browser_login, read_outbox, text_of

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


def test_preview_then_send_without_javascript(scene, app, live_server, browser):
    from grants.extensions import db

    stage = scene.stage
    stage.manager.locale = "kk"
    db.session.commit()
    base = live_server(app)
    context = browser.new_context(java_script_enabled=False, viewport={"width": 360, "height": 740})
    try:
        page = browser_login(context, base, stage.manager.email)  # (setting up two-factor emails the manager)
        before = len(read_outbox(app))
        page.goto(f"{base}/manage/calls")
        page.click("text=Адамдар тобына хабарламалар")
        page.select_option("select[name=segment]", "reviewers")
        page.select_option("select[name=call_id]", str(stage.call.id))
        page.fill("input[name=subject_kk]", "Сараптама мерзімі")
        page.fill("textarea[name=body_kk]", "Бағалауды жұмаға дейін аяқтаңыз.")
        page.click("text=Алдын ала қарау")
        main = page.inner_text("main")
        assert "Алушылар саны: 2" in main and "r0@example.kz" in main and "r1@example.kz" in main
        assert len(read_outbox(app)) == before  # nothing sent by a preview
        page.click("button[name=send]")
        main = page.inner_text("main")
        assert "Хабарлама жіберілуде, алушылар саны: 2." in main and "Сараптама мерзімі" in main
    finally:
        context.close()
    mails = read_outbox(app)[before:]
    assert sorted(m["To"] for m in mails) == ["r0@example.kz", "r1@example.kz"]
    assert all("Бағалауды жұмаға дейін аяқтаңыз." in text_of(m) for m in mails)  # ru readers fall back to kk
