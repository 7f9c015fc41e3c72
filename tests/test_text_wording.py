"""Text that reads as written by a person (issue 13, item 7), second part: the wording findings of
the native-speaker review (../shared/findings/language.md §3 W3, W9 and §4), read back from the
rendered emails, pages and PDFs in Kazakh and Russian, never from the catalog."""

import io
import re
from datetime import date

import pytest
import test_text_composition as composition
from flask_babel import force_locale
from pypdf import PdfReader
from test_text_composition import _user, pdf_text, reader, visible

from grants.extensions import db

demo = composition.demo  # the same module-scoped demo database, built once for this module

LEAD, PARTNER = "aral@demo.kz", "zhasyl@demo.kz"
# A quote opened inside a quote of the same kind, or two closing quotes together: «… «…»», »».
NESTED = re.compile(r"«[^»]*«|»»|““")
MONTHS = "|".join(
    ("января февраля марта апреля мая июня июля августа сентября октября ноября декабря "
     "қаңтар ақпан наурыз сәуір мамыр маусым шілде тамыз қыркүйек қазан қараша желтоқсан").split()
)  # fmt: skip


def _consortium():
    from grants.consortia.models import Consortium

    return db.session.execute(db.select(Consortium).filter_by(name="Консорциум «Чистый Арал»")).scalar_one()


def _org(email):
    from grants.organizations.models import Membership, Organization

    user = _user(email)
    query = db.select(Organization).join(Membership, Membership.organization_id == Organization.id)
    return db.session.execute(query.where(Membership.user_id == user.id)).scalars().first()


def _call(code):
    from grants.calls.models import Call

    return db.session.execute(db.select(Call).filter_by(code=code)).scalar_one()


def _mail(demo, template, locale, **context):
    from grants import mail

    with demo.test_request_context():
        message = mail.render(template, locale, **context)
    return message["subject"], message["text"], visible(message["html"])


def no_suffix_after(text: str, names) -> None:
    """Kazakh: a user's name stands alone: never «…бірлестігі ұйымын», «name-ның», «nameның»."""
    for name in names:
        for found in re.finditer(re.escape(name), text):
            after = text[found.end() : found.end() + 12]
            assert not re.match(r"[-\w]", after), (name, after, text)
            assert not re.match(r"[»“]?\s+ұйым", after), (name, after, text)


# --- W3: no Kazakh case ending glued to an organisation's name ----------------------------------


@pytest.mark.parametrize("locale", ["kk", "ru"])
def test_consortium_invitation_names_stand_alone_and_quotes_do_not_nest(demo, locale):
    lead, partner = _org(LEAD), _org(PARTNER)
    assert "«" in partner.name and "«" in _consortium().name  # names that carry quotes of their own
    for body in _mail(demo, "consortium_invitation", locale, consortium=_consortium(), lead=lead,
                      partner_name=partner.name, link="http://localhost/c/1")[1:]:  # fmt: skip
        assert "«Консорциум „Чистый Арал“»" in body, body
        assert not NESTED.search(body), body
        if locale == "kk":
            no_suffix_after(body, [partner.name, lead.name, "«Консорциум „Чистый Арал“»"])
            assert "ұйымын" not in body and "ұйымының" not in body


def test_member_invitation_and_role_prompts_in_kazakh_name_the_organisation_after_a_colon(demo):
    from grants.applications.models import Application

    partner = _org(PARTNER)
    subject, text, html = _mail(demo, "invitation", "kk", organization=partner, inviter=_user(PARTNER),
                                role="member", link="http://localhost/i/1")  # fmt: skip
    for body in (text, html):
        assert f"Ұйым: {partner.name}" in body
        no_suffix_after(body, [partner.name])
    # the check page of the draft (no partner role written yet) asks for the partner's role
    draft = db.session.execute(db.select(Application).filter_by(call_id=_call("SG-2027-2").id)).scalar_one()
    client = reader(demo, LEAD, "kk")
    page = visible(client.get(f"/applications/{draft.id}/check").get_data(as_text=True))
    assert f"Серіктестің рөлін сипаттаңыз: {partner.name}" in page
    no_suffix_after(page, [partner.name])


# --- W9: a language is named in the document's language -------------------------------------------


@pytest.mark.parametrize(("locale", "endonyms"), [("kk", ("Русский", "English")), ("ru", ("Қазақша", "English"))])
def test_documents_name_no_language_by_its_endonym(demo, locale, endonyms):
    from grants.applications import services
    from grants.applications.models import Application
    from grants.applications.pdf import application_pdf, receipt_pdf

    submitted = db.session.execute(db.select(Application).filter_by(call_id=_call("SG-2027-1").id)).scalar_one()
    with demo.test_request_context():
        for data in (application_pdf(submitted, locale),
                     receipt_pdf(submitted, services.latest_submission(submitted), locale)):  # fmt: skip
            text = pdf_text(data)
            assert not any(word in text for word in endonyms), text


# --- quotes: one helper, never doubled or nested ----------------------------------------------------


def test_the_quoted_filter_quotes_a_name_once_with_inner_quotes_of_another_kind(demo):
    from grants.i18n import quoted

    with demo.test_request_context():
        for locale in ("kk", "ru"):
            with force_locale(locale):
                assert quoted("Чистый Арал") == "«Чистый Арал»"
                assert quoted("Консорциум «Чистый Арал»") == "«Консорциум „Чистый Арал“»"
                assert quoted("«Экос»") == "«Экос»"
                assert quoted("«Жасыл Ел» жастары") == "«„Жасыл Ел“ жастары»"
                assert quoted("") == ""
        with force_locale("en"):
            assert quoted("Clean Aral") == "\u201cClean Aral\u201d"


@pytest.mark.parametrize("locale", ["ru", "kk"])
def test_award_letter_and_its_email_quote_the_consortium_and_project_once(demo, locale):
    from grants.awards.letters import render_letter
    from grants.awards.models import Award

    award = db.session.execute(db.select(Award).order_by(Award.id)).scalars().first()
    with demo.test_request_context():
        text = pdf_text(render_letter(award, locale, "TEST-CODE", 1))
    assert not NESTED.search(text), NESTED.search(text)
    opening = "консорциуму «" if locale == "ru" else "» консорциумына"
    assert opening in text
    assert f"«{award.application.title.replace('«', '„').replace('»', '“')}»" in text
    for body in _mail(demo, "award_letter", locale, award=award, letter=award.letter, link="http://localhost/a",
                      verify="http://localhost/v")[1:]:  # fmt: skip
        assert f"«{award.application.title}»" in body and not NESTED.search(body)


# --- a call's title is quoted after its code ----------------------------------------------------------


@pytest.mark.parametrize("locale", ["ru", "kk"])
def test_call_title_after_its_code_is_quoted_in_emails_and_the_calendar(demo, locale):
    from icalendar import Calendar

    from grants.calls.feeds import ics

    call = _call("SG-2026-3")
    title = call.text("title", locale)
    expected = f"{call.code} «{title}»"
    bodies = []
    bodies += _mail(demo, "review_assigned", locale, call=call, link="http://localhost/r")[1:]
    bodies += _mail(demo, "draft_deadline", locale, call=call, days=3, drafts=[("X", "http://localhost/d")])[1:]
    bodies += _mail(demo, "partner_confirm", locale, call=call, days=3, consortia=[("C", "http://localhost/c")])[1:]
    for body in bodies:
        assert expected in body, body
    with demo.test_request_context(), force_locale(locale):
        [event] = Calendar.from_ical(ics([call])).walk("VEVENT")
    assert expected in str(event["summary"])


# --- terminology: approve; biodiversity ---------------------------------------------------------------


@pytest.mark.parametrize(("locale", "approved", "wrong"), [("ru", "утверждён", "одобрен"), ("kk", "бекітілді", "мақұлданды")])
def test_an_approved_report_is_shown_with_the_word_of_the_approve_button(demo, locale, approved, wrong):
    from grants.awards import services
    from grants.awards.models import Award

    awards = db.session.execute(db.select(Award).order_by(Award.id)).scalars().all()
    done = next((a for a in awards if any(r.status == "approved" for r in a.reports)), None)
    if done is None:
        waiting = next(a for a in awards if any(r.status == "submitted" for r in a.reports))
        report = next(r for r in waiting.reports if r.status == "submitted")
        services.review_report(_user("manager@demo.kz"), waiting, report.kind, approve=True)
        db.session.commit()
        done = waiting
    client = reader(demo, "manager@demo.kz", locale)
    page = visible(client.get(f"/awards/{done.id}").get_data(as_text=True))
    assert f"· {approved}" in page, page
    assert wrong not in page
    # the letter's languages are named in the page's language, as inside a text
    html = client.get(f"/awards/{done.id}").get_data(as_text=True)
    links = dict(re.findall(r'lang=(\w\w)">([^<]+)</a>', html))
    assert links["ru"] == ("русский" if locale == "ru" else "орыс тілі"), links
    assert links["kk"] == ("казахский" if locale == "ru" else "қазақ тілі"), links


def test_biodiversity_is_one_word_on_the_kazakh_home_page(demo):
    client = demo.test_client()
    client.get("/language/kk")
    page = visible(client.get("/").get_data(as_text=True))
    assert "биоәртүрлілік" in page.casefold()
    assert "биоалуантүрлілік" not in page.casefold()


# --- §4: the Kazakh and Russian catalog corrections, as rendered -----------------------------------------


def test_audit_columns_say_old_and_new_value_in_kazakh(demo):
    client = reader(demo, "manager@demo.kz", "kk")
    page = visible(client.get("/manage/audit").get_data(as_text=True))
    for header in ("Объект", "Бұрынғы мәні", "Жаңа мәні"):
        assert header in page
    assert "Нысан" not in page


def test_kazakh_pages_say_what_to_write_and_no_calque_of_already(demo):
    client = reader(demo, "manager@demo.kz", "kk")
    org = _org(PARTNER)
    page = visible(client.get(f"/manage/organizations/{org.id}/verify").get_data(as_text=True))
    assert "Ескертпе (нені тексергеніңізді жазыңыз)" in page and "не тексерілді" not in page
    assert "Барлық уақыт Астана уақыты (UTC+5) бойынша көрсетілген." in page
    # a member invited twice: «Бұл адам ұйымның мүшесі болып тұр.», not «қазірдің өзінде»
    owner = reader(demo, PARTNER, "kk")
    html = owner.get(f"/organizations/{org.id}").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    answer = owner.post(f"/organizations/{org.id}/members", data={"csrf_token": token, "email": PARTNER, "role": "editor"},
                        follow_redirects=True)  # fmt: skip
    text = visible(answer.get_data(as_text=True))
    assert "Ұйымға мүше болып тұр." in text, text
    assert "қазірдің өзінде" not in text.casefold()


@pytest.mark.parametrize("locale", ["kk", "ru"])
def test_award_letter_reporting_lines_do_not_repeat_themselves(demo, locale):
    from grants.awards.letters import render_letter
    from grants.awards.models import Award

    award = db.session.execute(db.select(Award).order_by(Award.id)).scalars().first()
    with demo.test_request_context():
        data = render_letter(award, locale, "TEST-CODE", 1)
    text = pdf_text(data)
    if locale == "kk":
        assert "Көрсеткіштердің қол жеткізілген мәндері бар аралық есеп" in text
        assert "мәндері көрсетілген" not in text
    # dates in the tranche table stay on one line: «15 желтоқсан», «2026 ж.», «15 декабря», «2026 г.»
    raw = "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)
    assert not re.search(rf"(?<![\d:])\d{{1,2}}\s*\n\s*(?:{MONTHS})", raw), raw
    assert not re.search(r"\d{4}\s*\n\s*[гж]\.", raw), raw


def test_dates_in_pdf_cells_keep_day_month_and_year_mark_together(demo):
    from grants.i18n import format_date, nobreak

    with demo.test_request_context():
        with force_locale("ru"):
            assert re.fullmatch("15\u00a0декабря 2026[\u00a0\u202f]г\\.", nobreak(format_date(date(2026, 12, 15))))
            assert nobreak("15 декабря 2026 г., 18:00 по времени Астаны") == "15\u00a0декабря 2026\u00a0г., 18:00 по времени Астаны"
        with force_locale("kk"):
            assert re.fullmatch("2026[\u00a0\u202f]ж\\. 15\u00a0желтоқсан", nobreak(format_date(date(2026, 12, 15))))


@pytest.mark.parametrize(("locale", "line", "count"), [
    ("kk", re.compile(r"1-транш: 2026 ж\. \d+ \w+ \(мерзімі өтіп кетті\)"), "мерзімі"),
    ("ru", re.compile(r"Транш 1: \d+ \w+ 2026 г\. \(срок истёк\)"), "срок"),
])  # fmt: skip
def test_overdue_email_says_the_due_date_once(demo, locale, line, count):
    from grants.awards.models import Award

    award = db.session.execute(db.select(Award).order_by(Award.id)).scalars().first()
    tranche = next(t for t in award.tranches if t.n == 1)
    tranche.due_on = date(2026, 12, 15)
    subject, text, html = _mail(demo, "award_due", locale, award=award, item=tranche, kind="award_tranche",
                                overdue=True, link="http://localhost/a")  # fmt: skip
    db.session.rollback()
    for body in (text, html):
        flat = re.sub("[\u00a0\u202f]", " ", body)
        assert line.search(flat), flat
        sentence = next(s for s in flat.split("\n") if line.search(s))
        assert sentence.count(count) == 1, sentence


def test_russian_draft_reminder_is_not_tautological_and_reminders_count_days(demo):
    call = _call("SG-2026-3")
    subject, text, html = _mail(demo, "draft_deadline", "ru", call=call, days=2, drafts=[])
    assert "Приём заявок прекращается ровно в момент наступления крайнего срока." in text
    assert "завершается ровно в крайний срок подачи" not in text
    for locale, days, expected in (("en", 1, "1 day to the deadline"), ("en", 3, "3 days to the deadline"),
                                   ("ru", 1, "остался 1 день"), ("ru", 3, "осталось 3 дня"),
                                   ("ru", 5, "осталось 5 дней"), ("kk", 1, "1 күн қалды")):  # fmt: skip
        subject = _mail(demo, "partner_confirm", locale, call=call, days=days, consortia=[])[0]
        assert expected in subject, subject
        assert "1 days" not in subject


def test_call_page_in_english_writes_one_day_in_the_singular(demo):
    call = _call("SG-2027-1")
    saved = list(call.alert_offsets_days)
    call.alert_offsets_days = [1]
    db.session.commit()
    try:
        client = demo.test_client()
        client.get("/language/en")
        page = visible(client.get(f"/calls/{call.id}").get_data(as_text=True))
        assert "remind you 1 day before deadlines" in page and not re.search(r"\b1 days", page)
        client.get("/language/ru")
        assert "дней до срока: 1" in visible(client.get(f"/calls/{call.id}").get_data(as_text=True))
    finally:
        call.alert_offsets_days = saved
        db.session.commit()


@pytest.mark.parametrize(("locale", "phrase"), [("kk", "ең азы 2 000 000 ₸"), ("ru", "от 2 000 000 ₸ до")])
def test_check_page_writes_amounts_in_tenge(demo, locale, phrase):
    from grants.applications.models import Application

    draft = db.session.execute(db.select(Application).filter_by(call_id=_call("SG-2027-2").id)).scalar_one()
    saved = draft.requested_amount
    draft.requested_amount = 1
    db.session.commit()
    try:
        client = reader(demo, LEAD, locale)
        page = visible(client.get(f"/applications/{draft.id}/check").get_data(as_text=True)).replace("\u00a0", " ")
        minimum = f"{_call('SG-2027-2').min_amount:,}".replace(",", " ")
        assert phrase.replace("2 000 000", minimum) in page, page
    finally:
        draft.requested_amount = saved
        db.session.commit()


def test_reviewer_invitation_in_kazakh_reads_as_one_sentence(demo):
    subject, text, html = _mail(demo, "reviewer_invitation", "kk", inviter=_user("manager@demo.kz"),
                                link="http://localhost/r")  # fmt: skip
    assert "Жүйеге кіріп (немесе осы электрондық пошта мекенжайымен тіркеліп), шақыруды 30 күн ішінде" in text
    assert "тіркеліңіз) де" not in text
