"""Email headers as a mail reader gets them (issue 13, item 7): a long Russian or Kazakh subject
keeps every space after the trip through a real SMTP server, and each email names its language."""

import pytest

from grants import mail

SUBJECTS = {
    "ru": "Срок экспертной оценки — через 2 дня: конкурс SG-2026-3 «Чистый воздух в малых городах 2026»",
    "kk": "Сараптама мерзімі — 2 күннен кейін: SG-2026-3 «Шағын қалалардағы таза ауа 2026» байқауы",
}


@pytest.mark.parametrize("locale", ["ru", "kk"])
def test_a_long_cyrillic_subject_arrives_with_every_space(app, smtp_server, locale):
    host, port, inbox = smtp_server
    app.config.update(MAIL_SERVER=host, MAIL_PORT=port)
    with app.test_request_context():
        message = mail.render("notice", locale, to="reader@example.kz", subject=SUBJECTS[locale],
                              lines=["…"], link=None)  # fmt: skip
        mail.deliver(message | {"to": "reader@example.kz"})
    received = inbox.wait_for(1)[0]
    assert received["Subject"] == SUBJECTS[locale]
    assert received["Content-Language"] == locale
    assert "Subject: " + SUBJECTS[locale] not in received.as_string()  # encoded on the wire, never raw 8-bit
