"""Issue 16, item 4 "Copy a call": a new call starts from an earlier one as a draft, with every rule
and text of the original (criteria, priority points, alerts, writing help, the guideline file), a code
of its own and dates moved on by whole years; the original is left as it was (pages and API)."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

import pytest
from conftest import PASSWORD, api_login, login, post_form
from werkzeug.datastructures import FileStorage

from calls.conftest import NOW, call_data
from grants.applications.models import Application
from grants.audit.models import AuditEvent
from grants.calls import services
from grants.calls.lifecycle import Status
from grants.calls.models import Call
from grants.core import clock, storage
from grants.core.errors import Forbidden
from grants.extensions import db
from grants.i18n import display_zone


def _pdf() -> bytes:
    from pypdf import PdfWriter

    writer, out = PdfWriter(), io.BytesIO()
    writer.add_blank_page(width=200, height=200)
    writer.write(out)
    return out.getvalue()


PDF = _pdf()
HELP = {"summary": {"ru": {"howto": "Коротко о проекте", "example": "Пример"},
                    "kk": {"howto": "Жоба туралы", "example": ""}}}  # fmt: skip


def _rich_call(manager, code: str = "SG-2027-1") -> Call:
    """A call whose every rule differs from the defaults, with a guideline and writing help, published."""
    data = call_data(
        code=code, currency="USD", regions=["almaty", "abai"], blind_review=False, quality_threshold=55.5,
        divergence_threshold=20, alert_offsets_days=[21, 5], consortium_min_members=3, consortium_max_members=5,
        max_awards=7, max_awards_per_consortium=2, max_consortia=3, reviewers_per_application=2,
        description={"ru": "Описание", "kk": "Сипаттама", "en": "Description"},
        priority={"women_led_points": 7, "youth_led_points": 6, "rural_points": 3, "newcomer_points": 2, "cap": 15,
                  "basis": "majority", "youth_age_min": 16, "youth_age_max": 30},
    )  # fmt: skip
    call = services.create(manager, data, FileStorage(io.BytesIO(PDF), filename="Нұсқаулық.pdf"))
    services.set_section_help(manager, call, HELP)
    services.publish(manager, call)
    return call


def _rules(call: Call) -> dict:
    """Every copied rule and text (what the API shows, plus the columns it does not), without the code
    and the dates."""
    data = services.to_dict(call)
    for key in ("code", "opens_at", "closes_at"):
        data.pop(key)
    columns = {c.key: getattr(call, c.key) for c in Call.__table__.columns if c.key not in services.COPY_SKIPPED}
    for key in ("opens_at", "closes_at"):
        columns.pop(key)
    return data | {"columns": columns, "criterion_rows": [
        {c.key: getattr(row, c.key) for c in row.__table__.columns if c.key not in ("id", "call_id")}
        for row in call.criteria
    ]}  # fmt: skip


def _state(call: Call) -> dict:
    return _rules(call) | {"code": call.code, "status": call.status, "opens_at": call.opens_at,
                           "closes_at": call.closes_at, "published_at": call.published_at,
                           "guideline_path": call.guideline_path}  # fmt: skip


def test_a_copy_is_a_draft_with_every_rule_and_text_a_new_code_and_future_dates(app, frozen, manager):
    original = _rich_call(manager)
    before = _state(original)
    frozen.to(NOW + timedelta(days=800))  # two years and more later: the original closed long ago
    copy = services.copy(manager, original)
    db.session.expire_all()

    assert copy.id != original.id and copy.status == Status.DRAFT and copy.published_at is None
    assert copy.decided_at is None and copy.created_by_id == manager.id
    assert copy.code == "SG-2027-1-copy"
    assert _rules(copy) == _rules(original)
    assert copy.section_help == HELP and copy.regions == ["abai", "almaty"] and copy.currency == "USD"
    assert [c.key for c in copy.criteria] == ["relevance", "feasibility", "impact"]
    # The dates move on by whole years (same Astana wall-clock time), far enough to publish without notice.
    years = 3  # 2027-03-31 → 2030-03-31: 2029-03-31 is before "now" (2029-05-10)
    for column in ("opens_at", "closes_at"):
        old, new = (getattr(call, column).astimezone(display_zone()) for call in (original, copy))
        assert new == old.replace(year=old.year + years)
    assert copy.closes_at > clock.now() + timedelta(days=app.config.get("MIN_LEAD_DAYS", 0))
    # The guideline is a file of its own with the same bytes.
    assert copy.guideline_path and copy.guideline_path != original.guideline_path
    assert storage.storage().get(copy.guideline_path) == storage.storage().get(original.guideline_path) == PDF
    assert (copy.guideline_filename, copy.guideline_sha256) == (original.guideline_filename, original.guideline_sha256)
    # No applications, the original unchanged, the copy recorded.
    assert db.session.execute(db.select(Application).filter_by(call_id=copy.id)).first() is None
    assert _state(original) == before
    event = db.session.execute(db.select(AuditEvent).filter_by(action="call.copied")).scalar_one()
    assert (event.object_id, event.after, event.actor_id) == (copy.id, {"from": original.id}, manager.id)
    # A valid draft: it may be edited and published as it is.
    services.publish(manager, copy)
    assert copy.status == Status.PUBLISHED


def test_copying_twice_gives_distinct_codes_that_fit_the_code_column(app, frozen, manager, users):
    original = services.create(manager, call_data(code="SG-2027-1"))
    first, second = services.copy(manager, original), services.copy(manager, original)
    again = services.copy(manager, first)  # a copy of a copy counts on from the same stem
    assert [first.code, second.code, again.code] == ["SG-2027-1-copy", "SG-2027-1-copy-2", "SG-2027-1-copy-3"]
    assert first.opens_at == original.opens_at and first.closes_at == original.closes_at  # still ahead: not moved
    long = services.create(manager, call_data(code="L" * 40))
    assert services.copy(manager, long).code == "L" * 35 + "-copy"
    assert services.copy(manager, long).code == "L" * 33 + "-copy-2"
    with pytest.raises(Forbidden):
        services.copy(users("ngo@example.kz"), original)
    db.session.rollback()
    assert db.session.execute(db.select(db.func.count()).select_from(Call)).scalar_one() == 7
    # A guideline whose file has gone from storage: the copy is made without it (and says so in the log).
    lost = services.create(manager, call_data(code="LOST"), FileStorage(io.BytesIO(PDF), filename="g.pdf"))
    storage.storage().delete(lost.guideline_path)
    copy = services.copy(manager, lost)
    assert copy.guideline_path is None and copy.guideline_filename is None and copy.guideline_sha256 is None
    # With a minimum lead time the deadline moves on until the copy could be published without a reason.
    app.config["MIN_LEAD_DAYS"] = 45  # the original closes in 30 days
    later = services.copy(manager, original)
    assert (later.opens_at, later.closes_at) == tuple(services._years_later(m, 1)
                                                      for m in (original.opens_at, original.closes_at))  # fmt: skip


def test_a_leap_day_deadline_moves_to_the_28th_of_february(app):
    moment = datetime(2028, 2, 29, 18, 0, tzinfo=display_zone())
    assert services._years_later(moment, 1) == datetime(2029, 2, 28, 18, 0, tzinfo=display_zone())
    assert services._years_later(moment, 4) == moment.replace(year=2032)


@pytest.mark.parametrize(
    ("language", "flash"),
    [
        ("ru", "Копия сохранена как черновик с кодом SG-2027-1-copy. Перед публикацией проверьте её код и даты."),
        ("kk", "Көшірме қаралама ретінде сақталды, коды: SG-2027-1-copy. Жарияламас бұрын оның коды мен күндерін "
               "тексеріңіз."),
    ],
)  # fmt: skip
def test_the_manager_copies_a_call_from_its_page_without_javascript(app, frozen, manager, client, language, flash):
    original = _rich_call(manager)
    login(client, "manager@example.kz")
    client.get(f"/language/{language}")
    page = client.get(f"/manage/calls/{original.id}").get_data(as_text=True)
    assert f'action="/manage/calls/{original.id}/copy"' in page
    refused = client.post(f"/manage/calls/{original.id}/copy", data={"csrf_token": "forged"})
    assert refused.status_code == 400
    response = post_form(client, f"/manage/calls/{original.id}/copy", {}, form_url=f"/manage/calls/{original.id}")
    copy = db.session.execute(db.select(Call).filter_by(code="SG-2027-1-copy")).scalar_one()
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/manage/calls/{copy.id}")
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert flash in html
    assert 'value="SG-2027-1-copy"' in html  # the editor of the copy, ready to change its code
    assert copy.status == Status.DRAFT and _rules(copy) == _rules(original)


def test_the_api_copies_for_managers_and_answers_404_to_others(app, frozen, manager, client, users):
    original = _rich_call(manager)
    headers = {"Authorization": f"Bearer {api_login(client, 'manager@example.kz', PASSWORD).json['token']}"}
    made = client.post(f"/api/v1/calls/{original.id}/copy", headers=headers)
    assert made.status_code == 201, made.json
    assert made.json["status"] == "draft" and made.json["code"] == "SG-2027-1-copy"
    assert made.json["published_at"] is None and made.json["criteria"] == services.to_dict(original)["criteria"]
    assert made.json == client.get(f"/api/v1/calls/{made.json['id']}", headers=headers).json
    assert client.post("/api/v1/calls/999999/copy", headers=headers).status_code == 404

    users("ngo@example.kz")
    ngo = {"Authorization": f"Bearer {api_login(client, 'ngo@example.kz', PASSWORD).json['token']}",
           "Accept-Language": "ru"}  # fmt: skip
    refused = client.post(f"/api/v1/calls/{original.id}/copy", headers=ngo)
    assert refused.status_code == 404 and refused.json["error"]["code"]
    assert client.post(f"/api/v1/calls/{original.id}/copy").status_code == 401
    assert db.session.execute(db.select(db.func.count()).select_from(Call)).scalar_one() == 2
