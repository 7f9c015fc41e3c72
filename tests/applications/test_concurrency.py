"""Issue 11 ("Integrity"), applications: what happens when the same application is hit by several
requests at once (real parallel HTTP requests against PostgreSQL, a barrier, a threaded server).

Why bullets answered here:
- "Five concurrent submits of one application: five submission versions, five receipts."
- "25 concurrent uploads: 22 attachments, cap 20."
- "Two tabs autosaving the same version both got 200 and one tab's text was lost."
"""

import pytest
from conftest import read_outbox
from parallel import api_token, browser_session, fire

from grants.applications import services
from grants.applications.models import Application, Attachment, Submission
from grants.extensions import db

# PostgreSQL only: SQLite serialises writers by itself, the races are PostgreSQL's.
pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)

PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
BOUNDARY = "grants-test-boundary"


def multipart(filename: str, data: bytes, kind: str = "other") -> bytes:
    return (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="kind"\r\n\r\n{kind}\r\n'
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )


def count(model, **where) -> int:
    db.session.rollback()  # see what the server's transactions committed
    return db.session.execute(db.select(db.func.count()).select_from(model).filter_by(**where)).scalar()


def test_five_submits_at_once_make_one_submission_and_one_receipt(app, ready, live_server):
    world = ready
    base = live_server(app)
    token = api_token(app, world.lead_user)
    before = len(read_outbox(app))
    results = fire(base, [("POST", f"/api/v1/applications/{world.app.id}/submit", token, None)] * 5)
    assert sorted(r.status for r in results) == [200] + [409] * 4, [(r.status, r.body) for r in results]
    assert {r.code for r in results if r.status == 409} == {"already_submitted"}
    assert count(Submission, application_id=world.app.id) == 1
    receipts = [m for m in read_outbox(app)[before:] if m["To"] == "lead@example.kz"]  # (partners are told too)
    assert len(receipts) == 1
    winner = next(r for r in results if r.status == 200)
    assert winner.body["receipt_number"] in receipts[0].get_body(preferencelist=("plain",)).get_content()
    assert db.session.get(Application, world.app.id).status == "submitted"


def test_two_tabs_saving_the_same_version_one_wins_the_other_gets_409_with_the_current_version(app, ready, live_server):
    world = ready
    base = live_server(app)
    token = api_token(app, world.lead_user)
    version = world.app.version
    path = f"/api/v1/applications/{world.app.id}"
    tabs = [("PATCH", path, token, {"summary": f"Tab {i} text", "version": version}) for i in range(2)]
    results = fire(base, tabs)
    assert sorted(r.status for r in results) == [200, 409], [(r.status, r.body) for r in results]
    won = next(i for i, r in enumerate(results) if r.status == 200)
    lost = results[1 - won]
    assert lost.code == "stale_version"
    assert lost.body["error"]["current_version"] == version + 1  # the loser can reload and merge
    assert lost.body["error"]["current"]["summary"] == f"Tab {won} text"
    db.session.rollback()
    saved = db.session.get(Application, world.app.id)
    db.session.refresh(saved)
    assert saved.summary == f"Tab {won} text" and saved.version == version + 1


def test_ten_tabs_autosaving_at_once_never_lose_a_write_silently(app, ready, live_server):
    world = ready
    base = live_server(app)
    token = api_token(app, world.lead_user)
    version = world.app.version
    path = f"/api/v1/applications/{world.app.id}"
    results = fire(base, [("PATCH", path, token, {"problem": f"Text {i}", "version": version}) for i in range(10)])
    assert sorted(r.status for r in results) == [200] + [409] * 9
    won = next(i for i, r in enumerate(results) if r.status == 200)
    db.session.rollback()
    saved = db.session.get(Application, world.app.id)
    db.session.refresh(saved)
    assert saved.problem == f"Text {won}" and saved.version == version + 1


def test_twenty_five_uploads_at_once_never_pass_the_cap_of_twenty(app, world, live_server):
    base = live_server(app)
    token = api_token(app, world.lead_user)
    path = f"/api/v1/applications/{world.app.id}/attachments"
    uploads = [("POST", path, token, multipart(f"letter-{i}.pdf", PDF + str(i).encode())) for i in range(25)]
    results = fire(base, uploads, headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
    statuses = sorted(r.status for r in results)
    assert statuses == [201] * services.MAX_ATTACHMENTS + [422] * 5, [(r.status, r.body) for r in results]
    assert count(Attachment, application_id=world.app.id) == services.MAX_ATTACHMENTS


def test_two_browser_tabs_autosaving_the_same_version_one_saves_the_other_is_told(app, ready, live_server):
    """The page's autosave (X-Autosave) path, as the two tabs of the report did it."""
    import urllib.parse

    world = ready
    base = live_server(app)
    path = f"/applications/{world.app.id}/edit/summary"
    cookie, csrf = browser_session(base, "lead@example.kz", path)
    version = world.app.version

    def tab(i: int) -> bytes:
        return urllib.parse.urlencode({"csrf_token": csrf, "version": version, "title": f"Tab {i}", "summary": "S",
                                       "requested_amount": "2000000", "language": "kk"}).encode()  # fmt: skip

    headers = {"Cookie": cookie, "X-Autosave": "1", "Content-Type": "application/x-www-form-urlencoded"}
    results = fire(base, [("POST", path, None, tab(0)), ("POST", path, None, tab(1))], headers=headers)
    assert sorted(r.status for r in results) == [200, 409], [(r.status, r.body) for r in results]
    won = next(i for i, r in enumerate(results) if r.status == 200)
    lost = results[1 - won]
    assert lost.code == "stale_version" and lost.body["version"] == version + 1
    db.session.rollback()
    saved = db.session.get(Application, world.app.id)
    db.session.refresh(saved)
    assert saved.title == f"Tab {won}" and saved.version == version + 1
