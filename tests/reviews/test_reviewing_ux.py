"""Reviewing as a reviewer expects it: the conflict question starts unanswered and no answer is
refused in the reviewer's language; the application sits beside the rubric (partners anonymised
on a blind call); the weighted total is computed by the ranking's own scoring on every save; a
decimal comma means what it means; and submitting, which locks the review, asks for a
confirmation first. All without JavaScript (plain form posts)."""

import re
from html import unescape

import pytest
from conftest import login, post_form

from grants.extensions import db
from grants.reviews import reviewing, scoring, services
from grants.reviews.models import Assignment


def _text(html: str) -> str:
    main = html.split('<main id="main">', 1)[1].split("</main>", 1)[0]
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", main)))


def _assigned(stage, client, language: str) -> Assignment:
    for application in stage.apps:
        services.set_eligibility(stage.manager, application, eligible=True, reason="")
    services.auto_assign(stage.manager, stage.call)
    assignment = db.session.execute(db.select(Assignment).where(Assignment.application_id == stage.apps[1].id)
                                    .order_by(Assignment.seat)).scalars().first()  # fmt: skip
    login(client, assignment.reviewer.email)
    client.get(f"/language/{language}")
    return assignment


def _declared(stage, client, language: str) -> Assignment:
    assignment = _assigned(stage, client, language)
    services.declare(assignment.reviewer, assignment, conflict=False)
    return assignment


def _form(assignment: Assignment, **scores) -> dict:
    data = {f"score-{key}": value for key, value in scores.items()}
    return data | {"comment-relevance": "Мәселе нақты.", "overall": ""}


@pytest.mark.parametrize("language", ["kk", "ru"])
def test_the_conflict_question_starts_unanswered_and_no_answer_is_refused(stage, client, language):
    assignment = _assigned(stage, client, language)
    url = f"/reviews/{assignment.id}"
    page = client.get(url).get_data(as_text=True)
    radios = re.findall(r'<input type="radio"[^>]*>', page)
    assert len(radios) == 2 and not any("checked" in radio for radio in radios)
    explanation = {"kk": "Бұл байқау жасырын бағаланады", "ru": "Этот конкурс оценивается вслепую"}
    assert explanation[language] in _text(page)  # a blind call names nobody, here too (issue 14)
    label = {"kk": "1-серіктес", "ru": "Партнёр 1"}
    assert label[language] in _text(page) and "Partner 1" not in _text(page)  # labels, not the names

    refused = post_form(client, f"/reviews/{assignment.id}/declaration", {"pledge": "y", "reason": "Ескерту"},
                        form_url=url)  # fmt: skip
    assert refused.status_code == 422
    text = _text(refused.get_data(as_text=True))
    message = {"kk": "Осы ұйымдармен мүдделер қақтығысыңыз бар-жоғын таңдаңыз.",
               "ru": "Укажите, есть ли у вас конфликт интересов с этими организациями."}  # fmt: skip
    assert message[language] in text
    assert 'id="pledge" name="pledge" value="y" checked' in refused.get_data(as_text=True)  # kept
    db.session.expire_all()
    assert db.session.get(Assignment, assignment.id).declared_at is None  # nothing recorded

    accepted = post_form(client, f"/reviews/{assignment.id}/declaration", {"pledge": "y", "conflict": "no"},
                         form_url=url)  # fmt: skip
    assert accepted.status_code == 302 and accepted.headers["Location"].endswith(url)


def test_the_application_is_shown_beside_the_rubric_with_partners_anonymised(stage, client):
    assignment = _declared(stage, client, "ru")
    page = client.get(f"/reviews/{assignment.id}").get_data(as_text=True)
    assert 'class="review-grid"' in page and 'class="app-pane"' in page and 'class="rubric"' in page
    assert page.index('class="app-pane"') < page.index('class="rubric"')  # one after the other on a phone
    text = _text(page)
    assert "Партнёр 1 : Еріктілерді оқытады" in text  # the partner's role, under the PDF's neutral label
    assert "Partner 1" not in text and "Lead 1" not in text  # blind: no organization names
    assert 'data-weight="40" data-max="10"' in page  # what review.js reads
    assert "review.js" in page


@pytest.mark.parametrize("language", ["kk", "ru"])
def test_the_running_total_is_computed_on_save_with_a_decimal_comma(stage, client, language):
    assignment = _declared(stage, client, language)
    url = f"/reviews/{assignment.id}"
    comma = ","  # kk and ru write a decimal comma

    saved = post_form(client, url, _form(assignment, relevance="8") | {"action": "save"})
    assert saved.status_code == 302
    text = _text(client.get(url).get_data(as_text=True))
    assert f"24{comma}00 / 100" in text  # 30 × 8 / 10, the other criteria not scored yet
    partial = {"kk": "(барлық өлшемге әлі балл қойылған жоқ)", "ru": "(ещё не по всем критериям выставлены баллы)"}
    assert partial[language] in text

    saved = post_form(
        client, url, _form(assignment, relevance="8", feasibility="7,5", impact=" 4 ") | {"action": "save"}
    )
    assert saved.status_code == 302
    db.session.expire_all()
    review = db.session.get(Assignment, assignment.id).review
    assert review.scores == {"relevance": 8, "feasibility": 7.5, "impact": 4}  # 7,5 is seven and a half
    page = client.get(url).get_data(as_text=True)
    criteria = tuple(scoring.Criterion(c.key, c.weight, c.max_score) for c in stage.call.criteria)
    expected = scoring.shown(scoring.reviewer_total(review.scores, criteria)).replace(".", comma)
    assert expected == "78,00"  # 24 + 40 × 7.5 / 10 + 30 × 4 / 5
    assert f">{expected}</output>" in page
    assert 'value="7,5"' in page  # shown back as the reviewer writes it
    assert 'id="total-partial" hidden' in page  # every criterion is scored

    for typed in ("1,234", "7.5.1", "1/2", "7,555", "семь"):
        refused = post_form(client, url, _form(assignment, relevance="8", feasibility=typed, impact="4")
                            | {"action": "save"})  # fmt: skip
        assert refused.status_code == 422, typed
        message = {"kk": "7 немесе 7,5 сияқты сан енгізіңіз", "ru": "Введите число, например 7 или 7,5"}
        assert message[language] in _text(refused.get_data(as_text=True)), typed
    db.session.expire_all()
    assert db.session.get(Assignment, assignment.id).review.scores["feasibility"] == 7.5  # nothing misread


def test_the_running_total_is_the_ranking_formula_for_the_typed_texts(stage, client):
    criteria = tuple(scoring.Criterion(c.key, c.weight, c.max_score) for c in stage.call.criteria)
    typed = {"relevance": "7,3", "feasibility": "0.05", "impact": "2,75"}
    total = reviewing.running_total(stage.call, typed)
    stored = {key: reviewing.stored_score(reviewing.parse_score(value)) for key, value in typed.items()}
    assert total.complete and total.value == scoring.reviewer_total(stored, criteria)
    half = reviewing.running_total(stage.call, {"relevance": "10", "feasibility": "", "impact": "x"})
    assert (half.scored, half.criteria, half.value) == (1, 3, 30)


@pytest.mark.parametrize("language", ["kk", "ru"])
def test_submitting_asks_for_a_confirmation_first(stage, client, language):
    assignment = _declared(stage, client, language)
    url = f"/reviews/{assignment.id}"
    page = client.get(url).get_data(as_text=True)
    confirm = {"kk": "Мен балдарымды тексердім; тапсырылғаннан кейін сараптамалық бағалауды өзгертуге болмайды.",
               "ru": "Я проверил(а) свои баллы; после отправки экспертную оценку изменить нельзя."}  # fmt: skip
    assert confirm[language] in _text(page) and 'name="confirm" value="y"' in page

    incomplete = post_form(client, url, _form(assignment, relevance="8") | {"action": "submit"})
    assert incomplete.status_code == 422  # checked as a submission: every criterion is needed

    unconfirmed = post_form(client, url, _form(assignment, relevance="8", feasibility="7", impact="4")
                            | {"action": "submit"})  # fmt: skip
    assert unconfirmed.status_code == 302 and unconfirmed.headers["Location"].endswith(f"{url}#submit")
    db.session.expire_all()
    kept = db.session.get(Assignment, assignment.id)
    assert kept.review.submitted_at is None and kept.review.scores["feasibility"] == 7  # saved as a draft
    asked = {"kk": "Балдарыңыз қаралама ретінде сақталды.", "ru": "Ваши баллы сохранены как черновик."}
    assert asked[language] in _text(client.get(url).get_data(as_text=True))

    submitted = post_form(client, url, _form(assignment, relevance="8", feasibility="7", impact="4")
                          | {"action": "submit", "confirm": "y"})  # fmt: skip
    assert submitted.status_code == 302
    db.session.expire_all()
    assert db.session.get(Assignment, assignment.id).review.submitted_at is not None
    page = client.get(url).get_data(as_text=True)
    assert 'id="score-relevance"' in page and "readonly" in page and 'name="confirm"' not in page
