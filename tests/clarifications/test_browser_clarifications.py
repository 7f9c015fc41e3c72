"""In Chromium with JavaScript off, on a phone-sized screen: the manager asks for a document, the
lead answers in Kazakh with a file, the reviewer reads the answer beside the application."""

from datetime import timedelta

import pytest
from conftest import browser_login

from clarifications.conftest import PDF
from grants.core import clock
from grants.i18n import display_zone

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


def test_ask_answer_with_a_file_and_review_without_javascript(scene, app, live_server, browser):
    base = live_server(app)
    contexts = [
        browser.new_context(java_script_enabled=False, viewport={"width": 360, "height": 740}) for _ in range(3)
    ]
    try:
        manager = browser_login(contexts[0], base, scene.manager.email)
        manager.goto(f"{base}/applications/{scene.app.id}/clarifications")
        manager.fill("#question", "Аудандық әкімдіктің қолдау хатын қосыңыз.")
        reply_by = (clock.now() + timedelta(days=5)).astimezone(display_zone())
        manager.fill("#reply_by", reply_by.strftime("%Y-%m-%dT%H:%M"))
        manager.click("text=Отправить запрос")
        assert "Запрос отправлен" in manager.inner_text("main")
        assert "ожидается ответ" in manager.inner_text("main")
        manager.close()

        lead = browser_login(contexts[1], base, scene.lead.email)  # Kazakh
        lead.goto(f"{base}/applications/{scene.app.id}")
        lead.click("text=Сұрауларды оқу және жауап беру")
        lead.fill("textarea[name=text]", "Әкімдік хаты қоса беріліп отыр.")
        lead.set_input_files("input[name=file]", files=[{"name": "Әкімдік хаты.pdf", "mimeType": "application/pdf",
                                                          "buffer": PDF}])  # fmt: skip
        lead.click("text=Жауапты жіберу")
        main = lead.inner_text("main")
        assert "Жауабыңыз өтінімге қосылды" in main and "Әкімдік хаты.pdf" in main and "жауап берілді" in main
        lead.close()

        reviewer = browser_login(contexts[2], base, scene.reviewer.email)  # Kazakh
        reviewer.goto(f"{base}/reviews/{scene.assignment.id}")
        pane = reviewer.inner_text(".app-pane")
        assert "Нақтылаулар (толықтырулар)" in pane and "Әкімдік хаты қоса беріліп отыр." in pane
        assert "Әкімдік хаты.pdf" not in pane and "Толықтыру файлы № 1" in pane  # blind call
    finally:
        for context in contexts:
            context.close()
