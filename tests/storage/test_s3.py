"""Uploads on an S3 bucket (moto's server over HTTP): stored under the app's prefix with their
content type, downloaded through the app with the name and headers they had on the local folder,
refused (413, 415) with nothing written, and deleted again when their transaction rolls back."""

import io
import re
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import call_data, login, post_form
from werkzeug.datastructures import FileStorage

from grants.applications import services as applications
from grants.applications.models import Attachment
from grants.calls import services as calls
from grants.consortia import services as consortia
from grants.core import storage
from grants.core.db import transactional
from grants.core.errors import Conflict
from grants.core.storage import BadKey, LocalStorage, S3Storage
from grants.extensions import db
from grants.organizations.bin import complete_bin

from .conftest import PREFIX, in_bucket

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
USTAV = "Устав ОФ Арал.pdf"


@pytest.fixture
def scene(app, frozen, users, organization, manager):
    """A draft application of a two-NGO consortium to an open call."""
    lead = users("lead@example.kz", locale="kk")
    partner = users("partner@example.kz")
    lead_org = organization(lead, name="Арал ҮЕҰ", bin=complete_bin("20054000777"))
    partner_org = organization(partner, name="Жас Дала", bin=complete_bin("21054000888"), region="aktobe")
    call = calls.create(manager, call_data(blind_review=False))
    calls.publish(manager, call)
    consortium = consortia.create(lead, name="Арал консорциумы", lead_organization_id=lead_org.id,
                                  partner_organization_ids=[partner_org.id])  # fmt: skip
    consortia.respond(partner, consortium, organization_id=partner_org.id, accept=True)
    draft = applications.create(lead, call, consortium)
    return SimpleNamespace(lead=lead, app=draft)


def upload(client, app_id: int, name: str, data: bytes):
    return post_form(client, f"/applications/{app_id}/attachments", {"kind": "charter", "file": (io.BytesIO(data), name)},
                     form_url=f"/applications/{app_id}/edit/attachments", content_type="multipart/form-data")  # fmt: skip


def stored_attachments(app_id: int) -> list[Attachment]:
    db.session.expire_all()
    return list(db.session.scalars(db.select(Attachment).filter_by(application_id=app_id).order_by(Attachment.id)))


def test_an_upload_is_kept_in_the_bucket_and_downloads_with_its_type_and_name(scene, client, app, s3_server, bucket):
    login(client, "lead@example.kz")
    assert upload(client, scene.app.id, USTAV, PDF).status_code == 302
    assert upload(client, scene.app.id, "сурет.pdf", PNG).status_code == 302  # PNG bytes: stored as a PNG
    pdf, png = stored_attachments(scene.app.id)
    assert re.fullmatch(r"attachments/[0-9a-f]{32}\.pdf", pdf.path) and png.path.endswith(".png")
    assert in_bucket(s3_server, bucket) == {pdf.path: PDF, png.path: PNG}
    head = s3_server.client().head_object(Bucket=bucket, Key=f"{PREFIX}/{pdf.path}")
    assert head["ContentType"] == "application/pdf" and head["ContentLength"] == len(PDF)
    assert not Path(app.config["UPLOAD_DIR"]).exists()  # nothing on this host's disk

    for item, data, content_type in ((pdf, PDF, "application/pdf"), (png, PNG, "image/png")):
        response = client.get(f"/applications/{scene.app.id}/attachments/{item.id}")
        assert response.status_code == 200 and response.data == data
        assert response.mimetype == content_type and response.content_length == len(data)
        assert response.headers["Content-Disposition"].startswith("attachment; filename=")
        assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == "private, no-store"
    assert "%D0%A3%D1%81%D1%82%D0%B0%D0%B2" in client.get(  # «Устав», percent-encoded UTF-8
        f"/applications/{scene.app.id}/attachments/{pdf.id}").headers["Content-Disposition"]  # fmt: skip
    archive = zipfile.ZipFile(io.BytesIO(client.get("/account/data/export").data))  # "download my data"
    assert archive.read(f"files/applications/{scene.app.id}/{pdf.id}-{USTAV}") == PDF
    stranger = app.test_client()  # objects are private: only through the app, which asks who it is
    assert stranger.get(f"/applications/{scene.app.id}/attachments/{pdf.id}").status_code == 302


def test_too_large_and_wrong_content_are_refused_with_nothing_in_the_bucket(scene, client, app, s3_server, bucket):
    login(client, "lead@example.kz")
    limit = app.config["MAX_UPLOAD_BYTES"]
    too_large = upload(client, scene.app.id, "big.pdf", PDF + b"0" * limit)
    assert too_large.status_code == 413
    program = upload(client, scene.app.id, USTAV, b"MZ\x90\x00" + b"\x00" * 100)  # a Windows program named .pdf
    assert program.status_code == 415
    assert stored_attachments(scene.app.id) == []
    assert in_bucket(s3_server, bucket) == {}


@transactional
def _attach_then_fail(actor, application) -> None:
    applications.add_attachment(actor, application, FileStorage(io.BytesIO(PDF), filename=USTAV), "charter")
    raise Conflict("a later step refused")


def test_a_transaction_that_rolls_back_leaves_no_object(scene, s3_server, bucket):
    with pytest.raises(Conflict):
        _attach_then_fail(scene.lead, scene.app)
    assert stored_attachments(scene.app.id) == []
    assert in_bucket(s3_server, bucket) == {}
    kept = applications.add_attachment(scene.lead, scene.app, FileStorage(io.BytesIO(PDF), filename=USTAV))
    assert in_bucket(s3_server, bucket) == {kept.path: PDF}  # a commit keeps it


def test_a_transaction_closed_without_commit_leaves_no_object(scene, s3_server, bucket):
    db.session.commit()
    storage.save("files/abandoned.pdf", PDF, "application/pdf")
    db.session.execute(db.select(Attachment.id)).all()  # the transaction is open…
    db.session.close()  # …and ends without a commit (a worker's context torn down)
    assert in_bucket(s3_server, bucket) == {}


def test_a_commit_whose_answer_is_lost_keeps_the_object(scene, s3_server, bucket):
    """The COMMIT reached PostgreSQL but the connection dropped before its answer: the rows may
    exist, so the file they name stays (an unnamed file is harmless; a missing one is not)."""
    from sqlalchemy import event
    from sqlalchemy.exc import OperationalError

    db.session.commit()
    engine = db.engine

    def lost_answer(connection):
        connection.connection.dbapi_connection.commit()  # the server commits…
        raise OperationalError("COMMIT", {}, Exception("server closed the connection unexpectedly"))  # …no answer

    storage.save("files/committed.pdf", PDF, "application/pdf")
    db.session.execute(db.select(Attachment.id)).all()
    event.listen(engine, "commit", lost_answer)
    try:
        with pytest.raises(OperationalError):
            db.session.commit()
    finally:
        event.remove(engine, "commit", lost_answer)
    db.session.rollback()
    assert in_bucket(s3_server, bucket) == {"files/committed.pdf": PDF}


# --- the backends' contract -------------------------------------------------------------------


@pytest.fixture(params=["file", "s3"])
def backend(request, tmp_path):
    if request.param == "file":
        return LocalStorage(tmp_path / "objects")
    server = request.getfixturevalue("s3_server")
    return S3Storage(server.new_bucket(), "some/prefix", endpoint_url=server.endpoint_url)


def test_both_backends_keep_the_same_contract(backend):
    backend.ping()
    assert list(backend.keys()) == [] and not backend.exists("letters/a.pdf")
    backend.put("letters/a.pdf", PDF, "application/pdf")
    backend.put("letters/b.pdf", b"%PDF-2", "application/pdf")
    backend.put("attachments/c.png", PNG, "image/png")
    assert backend.get("letters/a.pdf") == PDF and backend.exists("letters/a.pdf")
    assert sorted(backend.keys()) == ["attachments/c.png", "letters/a.pdf", "letters/b.pdf"]
    assert sorted(backend.keys("letters/")) == ["letters/a.pdf", "letters/b.pdf"]
    with backend.open("attachments/c.png") as body:
        assert body.read() == PNG
    backend.put("letters/a.pdf", b"%PDF-again", "application/pdf")  # replaced whole
    assert backend.get("letters/a.pdf") == b"%PDF-again"
    backend.delete("letters/a.pdf")
    backend.delete("letters/a.pdf")  # deleting what is gone is not an error
    assert not backend.exists("letters/a.pdf")
    with pytest.raises(FileNotFoundError):
        backend.get("letters/a.pdf")
    assert backend.url_kind == ("file" if isinstance(backend, LocalStorage) else "s3")


@pytest.mark.parametrize("key", ["../secret", "/etc/passwd", "letters/../../x", "a\\..\\b", "", "a//b", "./a", "a/"])
def test_keys_that_could_leave_the_root_are_refused(backend, key):
    with pytest.raises(BadKey):
        backend.put(key, PDF, "application/pdf")
    with pytest.raises(BadKey):
        backend.get(key)


def test_a_symlink_out_of_the_folder_is_refused(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("no")
    root = tmp_path / "objects"
    root.mkdir()
    (root / "link").symlink_to(outside)
    with pytest.raises(BadKey):
        LocalStorage(root).get("link/secret.txt")


def test_an_unreachable_bucket_fails_the_ping(s3_server):
    with pytest.raises(Exception, match="404|NoSuchBucket|Not Found"):
        S3Storage("no-such-bucket-here", endpoint_url=s3_server.endpoint_url).ping()
    down = S3Storage("any", endpoint_url="http://127.0.0.1:9")  # nothing listens on the discard port
    with pytest.raises(Exception, match="Could not connect"):
        down.ping()
