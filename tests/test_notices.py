"""Issue 13 ("Communication"), item 2: the messages that were missing, each in its recipient's
language, in the one email layout, and in the outbound log. Read as a person reads them: the
rendered text of each logged message."""

from conftest import read_outbox
from reviews.conftest import score_all, stage  # noqa: F401

from grants.alerts.models import Notification
from grants.awards import issuing, payments
from grants.awards import services as awards
from grants.extensions import db
from grants.reviews import services
from grants.reviews.models import Decision


def told(kind: str, to: str) -> list[str]:
    """The texts of the logged messages of `kind` to `to`."""
    rows = db.session.execute(db.select(Notification).where(Notification.kind == kind,
                                                            Notification.recipient == to)).scalars()  # fmt: skip
    return [f"{n.subject}\n{n.payload['text']}" for n in rows]


def test_the_lead_hears_the_partner_and_the_partners_hear_the_submission(stage):  # noqa: F811
    [to_lead] = told("partner_answered", "lead0@example.kz")
    assert "Серіктес ұйым: Partner 0. Ол консорциумға қатысуын растады." in to_lead
    assert to_lead.split("\n")[1].startswith("Сәлеметсіз бе") and "Құрметпен," in to_lead
    [to_partner] = told("application_submitted", "partner0@example.kz")
    assert "Ведущая организация подала заявку. Номер подтверждения о получении: SG-2027-1-0001" in to_partner
    assert "Здравствуйте" in to_partner and "С уважением,\nкоманда программы малых грантов" in to_partner


def test_an_ineligible_applicant_is_told_why_in_kazakh(stage):  # noqa: F811
    services.set_eligibility(stage.manager, stage.apps[1], eligible=False, reason="Жарғының көшірмесі жоқ")
    services.set_eligibility(stage.manager, stage.apps[0], eligible=True, reason="")
    db.session.commit()
    [refused] = told("eligibility_result", "lead1@example.kz")
    assert "Өтініміңіз талаптарға сәйкестік тексерісінен өтпеді" in refused
    assert "Себебі: Жарғының көшірмесі жоқ" in refused
    [passed] = told("eligibility_result", "lead0@example.kz")
    assert "Енді ол тәуелсіз сарапшыларға жіберіледі." in passed


def test_appeals_tell_the_managers_and_then_the_applicant(stage):  # noqa: F811
    for application in stage.apps:
        services.set_eligibility(stage.manager, application, eligible=True, reason="")
    services.auto_assign(stage.manager, stage.call)
    score_all(stage, lambda a: {"relevance": 5, "feasibility": 5, "impact": 3})
    services.decide(stage.manager, stage.call, apply_selection=True)
    item = services.appeal(stage.leads[1], stage.apps[1], "Эксперт не учёл наш опыт работы в регионе с 2019 года.")
    services.answer_appeal(stage.manager, item, outcome="dismissed", answer="Оценка соответствует критериям.")
    db.session.commit()
    [filed] = told("appeal_filed", "manager@example.kz")
    assert "Новая апелляция" in filed and "Эксперт не учёл наш опыт" in filed
    [answered] = told("appeal_answered", "lead1@example.kz")
    assert "Апелляцияңыз қанағаттандырылмады." in answered and "Жауап: Оценка соответствует критериям." in answered


def test_reports_and_payments_are_told_with_dates_and_amounts_in_the_readers_language(stage, app):  # noqa: F811
    for application in stage.apps:
        db.session.add(Decision(application_id=application.id, outcome="award", decided_by_id=stage.manager.id))
    db.session.commit()
    award = awards.create_from_decisions(stage.manager, stage.call)[0]
    issuing.issue_letter(stage.manager, award, "ru")
    payments.mark_paid(stage.manager, award, 1, "2027-03-30")
    lead = stage.leads[0]
    awards.submit_report(lead, award, kind="interim", narrative="Жасалды", indicators={"Қатысушылар": 25})
    awards.review_report(stage.manager, award, "interim", approve=False, note="Фотосуреттерді қосыңыз")
    db.session.commit()
    [paid] = told("tranche_paid", "lead0@example.kz")
    assert "Төлем күні: 2027" in paid and "наурыз" in paid and "₸" in paid
    [waiting] = told("report_submitted", "manager@example.kz")
    assert "Отчёт ждёт проверки. Номер договора" in waiting
    [returned] = told("report_reviewed", "lead0@example.kz")
    assert "Есебіңіз түзетуге қайтарылды" in returned and "Не өзгерту керек: Фотосуреттерді қосыңыз" in returned
    # the letter went through the same log, its PDF attached from where it is kept
    [letter] = db.session.execute(db.select(Notification).where(Notification.kind == "award_letter",
                                                                Notification.recipient == "lead0@example.kz")).scalars()  # fmt: skip
    assert letter.payload["attachments"][0]["path"].startswith("letters/")
    sent = [m for m in read_outbox(app) if m["To"] == "lead0@example.kz" and m.get_content_type() == "multipart/mixed"]
    assert any(part.get_filename().endswith(".pdf") for m in sent for part in m.iter_attachments())
