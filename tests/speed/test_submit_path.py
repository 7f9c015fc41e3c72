"""Issue 15 ("Deploy"), the submission path at a deadline rush: submissions of one call no longer
queue behind each other's whole transaction (the call is share-locked; only the numbering takes a
lock of its own, last), and a save or submit reads again only what may have changed while it waited
for the application's lock. What must still hold (speed itself is measured by `make bench`):

- the receipt's SHA-256 is computed and stored at submit time and is the hash of the stored
  snapshot; the receipt PDF (rendered when downloaded) shows it and the receipt number;
- submits at once to one call get receipt numbers 1..n, each once, with no gap;
- the statements of a submit do not grow with the number of applications in the call.
"""

from __future__ import annotations

import hashlib
import io
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from applications import conftest as drafting
from conftest import NOW, login, post_form
from parallel import api_token, fire

from grants.applications import services as applications
from grants.applications.models import Application, Submission
from grants.consortia import services as consortia
from grants.extensions import db

# The applications' fixtures: a consortium of two NGOs with a complete draft in an open call.
world, ready, complete = drafting.world, drafting.ready, drafting.complete

POSTGRESQL = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


def _second_consortium(given, n: int):
    """Another consortium of the same two organizations, with a complete draft in the call."""
    consortium = consortia.create(given.lead_user, name=f"Арал консорциумы {n}", lead_organization_id=given.lead_org.id,
                                  partner_organization_ids=[given.partner_org.id])  # fmt: skip
    consortia.respond(given.partner_user, consortium, organization_id=given.partner_org.id, accept=True)
    app = applications.create(given.lead_user, given.call, consortium)
    data = complete(given)
    data["partner_roles"] = {str(given.partner_org.id): "Еріктілерді оқытады"}
    applications.save(given.lead_user, app, data, version=app.version)
    return app


def _statements(app, fn) -> tuple[int, object]:
    seen: list[str] = []

    def count(conn, cursor, statement, *rest):
        seen.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        result = fn()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    return len(seen), result


# SQLite too: `make run`'s database has no advisory locks (it serialises writers itself).
@pytest.mark.parametrize("database_url", ["postgresql", "sqlite"], indirect=True)
def test_the_receipt_hash_is_stored_at_submit_and_the_receipt_pdf_shows_it(app, client, ready):
    from pypdf import PdfReader

    given = ready
    login(client, "lead@example.kz")
    response = post_form(client, f"/applications/{given.app.id}/check", {})
    assert response.status_code == 302, response.get_data(as_text=True)[:1000]
    db.session.rollback()
    submission = db.session.execute(sa.select(Submission).filter_by(application_id=given.app.id)).scalar_one()
    assert submission.sha256 == hashlib.sha256(submission.snapshot.encode()).hexdigest()
    assert db.session.get(Application, given.app.id).status == "submitted"

    pdf = client.get(f"/applications/{given.app.id}/receipt.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    assert submission.receipt_number in text
    assert submission.sha256 in re.sub(r"\s+", "", text)


@POSTGRESQL
def test_submits_at_once_to_one_call_number_the_receipts_once_without_a_gap(app, ready, live_server):
    given = ready
    drafts = [given.app] + [_second_consortium(given, n) for n in range(1, 6)]
    db.session.commit()
    base = live_server(app)
    token = api_token(app, given.lead_user)
    results = fire(base, [("POST", f"/api/v1/applications/{a.id}/submit", token, None) for a in drafts])
    assert [r.status for r in results] == [200] * len(drafts), [(r.status, r.body) for r in results]
    db.session.rollback()
    numbers = sorted(
        db.session.execute(sa.select(Application.number).where(Application.call_id == given.call.id)).scalars()
    )
    assert numbers == list(range(1, len(drafts) + 1))
    receipts = {r.body["receipt_number"] for r in results}
    assert receipts == {f"{given.call.code}-{n:04d}" for n in numbers}
    stored = db.session.execute(sa.select(Submission.application_id, Submission.sha256, Submission.snapshot)
                                .where(Submission.application_id.in_([a.id for a in drafts]))).all()  # fmt: skip
    assert sorted(a for a, _h, _s in stored) == sorted(a.id for a in drafts)  # each once
    assert all(h == hashlib.sha256(s.encode()).hexdigest() for _a, h, s in stored)


@POSTGRESQL
def test_the_statements_of_a_submit_do_not_grow_with_the_call(app, client, ready):
    given = ready
    first, second = (_second_consortium(given, n).id for n in (1, 2))  # ids: reading them costs no statement
    db.session.commit()
    login(client, "lead@example.kz")
    assert post_form(client, f"/applications/{given.app.id}/check", {}).status_code == 302  # warm

    small, response = _statements(app, lambda: post_form(client, f"/applications/{first}/check", {}))
    assert response.status_code == 302
    # 60 more submitted applications in the call (bulk, as a busy deadline leaves it)
    db.session.execute(sa.insert(Application), [
        {"call_id": given.call.id, "consortium_id": given.consortium.id, "status": "submitted", "version": 2,
         "number": 100 + i, "language": "ru", "title": f"Ещё {i}", "requested_amount": 2_000_000, "partner_roles": {},
         "declarations": {}, "created_at": NOW, "updated_at": NOW, "submitted_at": NOW - timedelta(minutes=i)}
        for i in range(60)])  # fmt: skip
    db.session.commit()
    large, response = _statements(app, lambda: post_form(client, f"/applications/{second}/check", {}))
    assert response.status_code == 302
    assert large == small, (small, large)
    db.session.rollback()
    assert db.session.get(Application, second).number == 160  # after the bulk rows' highest, 159
