"""Text that reads as written by a person (issue 13, item 7): the rendered emails, pages and PDFs
in Kazakh and Russian, read back as a reader gets them (not the catalog). One demo database for
the module (the seed decides a call, issues award letters and files a report)."""

import io
import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import FreshContextClient, _base_config, login
from flask_babel import force_locale
from pypdf import PdfReader

from grants.extensions import db

DEMO_PASSWORD = "demo-grants-2026"
# What the applicant and the public are told, per outcome; and the manager's button labels,
# which must never be shown as a decision.
OUTCOMES = {
    "ru": {"award": "грант присуждён", "reserve": "в резервном списке", "reject": "в предоставлении гранта отказано"},
    "kk": {"award": "грант берілді", "reserve": "резервтік тізімде", "reject": "грант беруден бас тартылды"},
}
BUTTONS = {
    "ru": ("присудить грант", "Решение: отказать", "Решение: резерв"),
    "kk": ("Шешім: грант беру", "Шешім: бас тарту"),
}
DECIMAL_POINT = re.compile(r"\d\.\d")  # 94.33, 60.00: machine output in kk and ru


@pytest.fixture(scope="module")
def demo(tmp_path_factory, demo_database):
    from grants import create_app

    folder = tmp_path_factory.mktemp("text-composition")
    app = create_app(_base_config(demo_database("sqlite", folder), folder))
    app.test_client_class = FreshContextClient
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def _user(email):
    from grants.accounts.models import User

    return db.session.execute(db.select(User).filter_by(email=email)).scalar_one()


def reader(demo, email, locale):
    """A test client signed in as `email`, whose language setting is `locale`."""
    user = _user(email)
    user.locale = locale
    db.session.commit()
    client = demo.test_client()
    login(client, email, DEMO_PASSWORD)
    return client


def visible(html: str) -> str:
    """The text a reader sees: tags dropped, entities decoded, spaces collapsed."""
    from html import unescape

    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


def pdf_text(data: bytes) -> str:
    return re.sub(r"\s+", " ", " ".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages))


def _decided_call():
    from grants.calls.models import Call

    return db.session.execute(db.select(Call).filter_by(code="SG-2026-5")).scalar_one()


def _decisions():
    from grants.applications.models import Application
    from grants.reviews.models import Decision

    call = _decided_call()
    rows = db.session.execute(
        db.select(Decision)
        .join(Application, Decision.application_id == Application.id)
        .where(Application.call_id == call.id)
    ).scalars()
    return list(rows)


def _lead_email(application) -> str:
    from grants.accounts.models import User
    from grants.organizations.models import Membership

    org_id = application.consortium.lead_organization_id
    query = db.select(User.email).join(Membership, Membership.user_id == User.id).filter_by(organization_id=org_id)
    return db.session.execute(query).scalars().first()


# --- 1. decisions are outcomes, not button labels ------------------------------------------------


@pytest.mark.parametrize("locale", ["ru", "kk"])
def test_decision_email_and_result_page_tell_an_outcome_not_a_button_label(demo, locale):
    from grants import mail

    decisions = _decisions()
    assert {d.outcome for d in decisions} & {"award"}
    for decision in decisions:
        message = mail.render(
            "decision", locale, decision=decision, app=decision.application, link="http://localhost/x"
        )
        for body in (message["text"], visible(message["html"])):
            assert OUTCOMES[locale][decision.outcome] in body, body
            assert not any(button in body for button in BUTTONS[locale]), body
    awarded = next(d for d in decisions if d.outcome == "award")
    client = reader(demo, _lead_email(awarded.application), locale)
    page = visible(client.get(f"/applications/{awarded.application_id}/result").get_data(as_text=True))
    assert OUTCOMES[locale]["award"] in page
    assert not any(button in page for button in BUTTONS[locale])
    # 3. scores through the locale: a decimal comma, never a decimal point
    assert not DECIMAL_POINT.search(page), DECIMAL_POINT.search(page)
    assert not re.search(r"\d,00\b", page)


@pytest.mark.parametrize("locale", ["ru", "kk"])
def test_public_results_read_as_written_by_a_person(demo, locale):
    client = demo.test_client()
    client.get(f"/language/{locale}")
    page = visible(client.get(f"/calls/{_decided_call().id}/results").get_data(as_text=True))
    assert not DECIMAL_POINT.search(page), DECIMAL_POINT.search(page)
    assert "подтверждённо" not in page
    if locale == "ru":
        assert "с ведущей организацией, подтвердившей статус «под руководством женщин»" in page


# --- 2. a moment with its zone --------------------------------------------------------------------


def test_a_moment_with_its_zone_is_a_phrase_in_each_language(demo):
    from grants.calls.feeds import ics
    from grants.i18n import format_datetime

    moment = datetime(2026, 3, 1, 13, 0, tzinfo=UTC)
    with demo.test_request_context():
        with force_locale("ru"):
            assert re.sub(r"\s", " ", format_datetime(moment)) == "1 марта 2026 г., 18:00 по времени Астаны (UTC+5)"
        with force_locale("kk"):
            assert re.sub(r"\s", " ", format_datetime(moment)) == "2026 ж. 1 наурыз, Астана уақытымен 18:00 (UTC+5)"
        # the .ics attached to deadline emails
        from icalendar import Calendar

        for locale, phrase in (("ru", "по времени Астаны (UTC+5)"), ("kk", "Астана уақытымен ")):
            with force_locale(locale):
                calendar = Calendar.from_ical(ics([_decided_call()]))
            [event] = calendar.walk("VEVENT")
            description = str(event["description"])
            assert phrase in description
            assert "время Астаны (UTC" not in description.replace("по времени", "") and "уақыты (UTC" not in description


@pytest.mark.parametrize(("locale", "phrase", "wrong"), [
    ("ru", "по времени Астаны (UTC+5)", re.compile(r"\d\d:\d\d время Астаны")),
    ("kk", "Астана уақытымен", re.compile(r"\d\d:\d\d Астана уақыты")),
])  # fmt: skip
def test_pages_and_pdfs_write_the_zone_grammatically(demo, locale, phrase, wrong):
    from grants.applications.pdf import application_pdf

    decision = _decisions()[0]
    client = reader(demo, "manager@demo.kz", locale)
    page = visible(client.get(f"/applications/{decision.application_id}").get_data(as_text=True))
    assert phrase in page and not wrong.search(page)
    with demo.test_request_context():
        text = pdf_text(application_pdf(decision.application, locale))
    assert phrase in text and not wrong.search(text)


# --- 3. numbers through the locale ----------------------------------------------------------------


def test_the_number_filter_writes_a_decimal_comma_and_no_zero_decimals(demo):
    from grants.i18n import format_number

    with demo.test_request_context():
        for locale in ("ru", "kk"):
            with force_locale(locale):
                assert format_number("94.33") == "94,33"
                assert format_number(Decimal("60.00")) == "60"
                assert format_number(Decimal("8.00")) == "8"
                assert format_number(140.0) == "140"
                assert format_number("—") == "—"
        with force_locale("en"):
            assert format_number("94.33") == "94.33"


@pytest.mark.parametrize("locale", ["ru", "kk"])
def test_application_page_and_pdf_show_quantities_and_indicators_as_people_write_them(demo, locale):
    from grants.applications.pdf import application_pdf

    decision = _decisions()[0]
    client = reader(demo, "manager@demo.kz", locale)
    page = visible(client.get(f"/applications/{decision.application_id}").get_data(as_text=True))
    assert "0 → 300 домохозяйств" in page
    assert not re.search(r"\b\d+\.00\b", page)
    with demo.test_request_context():
        text = pdf_text(application_pdf(decision.application, locale))
    assert not re.search(r"\b\d+\.00\b", text) and not re.search(r"\b300\.0\b", text)
    # 6. the language of the application is named in the document's language
    assert "Русский" not in text
    assert ("орыс тілі" if locale == "kk" else "русский") in text


# --- 4. the award letter --------------------------------------------------------------------------


@pytest.mark.parametrize("locale", ["ru", "kk"])
def test_award_letter_period_has_no_doubled_full_stop(demo, locale):
    from grants.awards.letters import render_letter
    from grants.awards.models import Award

    award = db.session.execute(db.select(Award).order_by(Award.id)).scalars().first()
    with demo.test_request_context():
        text = pdf_text(render_letter(award, locale, "TEST-CODE", 1))
    assert "г.." not in text and "ж.." not in text
    if locale == "ru":
        assert re.search(r"Срок реализации проекта: с \d+ \w+ \d{4} г\. по \d+ \w+ \d{4} г\.", text), text


# --- 5. "submitted" agrees with what was submitted ------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "report", "review"), [("ru", "подан", "отправлена"), ("kk", "тапсырылды", "жіберілді")]
)
def test_submitted_agrees_with_a_report_a_review_and_an_application(demo, locale, report, review):
    from grants.applications import lifecycle as applications
    from grants.awards.models import Award

    awards = db.session.execute(db.select(Award).order_by(Award.id)).scalars().all()
    waiting = next(a for a in awards if any(r.status == "submitted" for r in a.reports))
    client = reader(demo, "manager@demo.kz", locale)
    page = visible(client.get(f"/awards/{waiting.id}").get_data(as_text=True))
    assert re.search(rf"· {report}\b(?!а)", page), page
    if locale == "ru":
        assert "· подана" not in page
    reviewer = reader(demo, "reviewer2@demo.kz", locale)
    mine = visible(reviewer.get("/reviews").get_data(as_text=True))
    assert review in mine
    with demo.test_request_context(), force_locale(locale):
        assert applications.label("submitted") == ("подана" if locale == "ru" else "тапсырылды")


# --- 6. region lists in the reader's alphabet -----------------------------------------------------


@pytest.mark.parametrize("locale", ["kk", "ru"])
def test_region_list_follows_the_alphabet_of_the_language(demo, locale):
    from grants.i18n import ALPHABETS

    client = demo.test_client()
    client.get(f"/language/{locale}")
    html = client.get("/directory").get_data(as_text=True)
    select = re.search(r'<select[^>]*name="region".*?</select>', html, re.S).group(0)
    names = [n for n in re.findall(r"<option[^>]*>([^<]+)</option>", select)]
    regions = [n for n in names if "облыс" in n or "област" in n.lower()]
    assert len(regions) >= 17
    order = {c: i for i, c in enumerate(ALPHABETS[locale])}
    keys = [[order.get(c, 1000 + ord(c)) for c in n.casefold()] for n in regions]
    assert keys == sorted(keys), regions
    if locale == "kk":
        assert regions.index("Батыс Қазақстан облысы") < regions.index("Жамбыл облысы")
        assert regions.index("Шығыс Қазақстан облысы") > regions.index("Түркістан облысы")


# --- 8. PDFs know their language ------------------------------------------------------------------


@pytest.mark.parametrize("locale", ["ru", "kk"])
def test_pdf_documents_carry_their_language_and_hyphenate_table_cells(demo, locale):
    """The application, the receipt, the award letter and the blank form declare their language
    (so the PDF reader and the hyphenation know it), and table cells hyphenate instead of
    breaking words without a hyphen."""
    from grants.applications import services
    from grants.applications.pdf import application_pdf, blank_form_pdf, receipt_pdf
    from grants.awards.letters import render_letter
    from grants.awards.models import Award

    decision = _decisions()[0]
    application = decision.application
    award = db.session.execute(db.select(Award).order_by(Award.id)).scalars().first()
    with demo.test_request_context():
        documents = {
            "application": application_pdf(application, locale),
            "receipt": receipt_pdf(application, services.latest_submission(application), locale),
            "letter": render_letter(award, locale, "TEST-CODE", 1),
            "blank form": blank_form_pdf(_decided_call(), locale),
        }
    for name, data in documents.items():
        assert str(PdfReader(io.BytesIO(data)).trailer["/Root"].get("/Lang")) == locale, name
    css = (Path(__file__).resolve().parent.parent / "templates" / "pdf" / "pdf.css").read_text(encoding="utf-8")
    assert re.search(r"th, td \{[^}]*hyphens: auto", css)


@pytest.mark.parametrize(("locale", "unit"), [("ru", "КБ"), ("kk", "КБ")])
def test_attachment_sizes_are_written_in_cyrillic(demo, locale, unit):
    from werkzeug.datastructures import FileStorage

    from grants.applications import services
    from grants.applications.models import Application
    from grants.calls.models import Call

    upcoming = db.session.execute(db.select(Call).filter_by(code="SG-2027-2")).scalar_one()
    draft = db.session.execute(db.select(Application).filter_by(call_id=upcoming.id)).scalar_one()
    if not draft.attachments:
        pdf = b"%PDF-1.4\n" + b"%" + b"x" * 3000 + b"\n%%EOF\n"
        services.add_attachment(_user("aral@demo.kz"), draft, FileStorage(io.BytesIO(pdf), filename="ustav.pdf"))
        db.session.commit()
    client = reader(demo, "aral@demo.kz", locale)
    page = visible(client.get(f"/applications/{draft.id}/edit/attachments").get_data(as_text=True))
    assert re.search(rf"\d+ {unit} · SHA-256", page), page
    assert " KB " not in page
