"""`flask backup` and `flask restore` on PostgreSQL and S3: a round with a submitted application
(receipt SHA-256, an attachment) and an issued letter, backed up, restored into a new empty
database and a new bucket; the restored app verifies the receipt's hash as the app computes it and
answers /verify for the letter as before. A changed file, a non-empty database or bucket is refused."""

import hashlib
import io
import json
import re
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from applications.conftest import complete, ready, world  # noqa: F401
from conftest import PG_URL, _sqlalchemy_url, login
from sqlalchemy.engine import make_url
from werkzeug.datastructures import FileStorage

from grants.applications import services as applications
from grants.applications.models import Attachment, Submission
from grants.awards import issuing
from grants.awards import services as awards
from grants.awards.models import Letter
from grants.core import storage
from grants.extensions import db
from grants.reviews.models import Decision

from .conftest import PREFIX, in_bucket

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def empty_database():
    """New, empty PostgreSQL databases (no tables at all), dropped at the end."""
    admin = sa.create_engine(_sqlalchemy_url(PG_URL), isolation_level="AUTOCOMMIT")
    made = []

    def create() -> str:
        name = f"grants_restore_{uuid.uuid4().hex[:10]}"
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        made.append(name)
        return make_url(_sqlalchemy_url(PG_URL)).set(database=name).render_as_string(hide_password=False)

    yield create
    with admin.connect() as conn:
        for name in made:
            conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                         {"n": name})  # fmt: skip
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


def on_s3(make_app, url: str, s3_server, bucket: str):
    return make_app(url, STORAGE_URL=f"s3://{bucket}/{PREFIX}", S3_ENDPOINT_URL=s3_server.endpoint_url)


def cli(app, *args):
    """`flask <args>` on `app` (its own context: a command runs in the app context it finds)."""
    with app.app_context():
        return app.test_cli_runner().invoke(args=[*args])


def main_of(page: str) -> str:
    """The page's <main>, without the per-request CSRF token and nonce."""
    main = page[page.find("<main") : page.find("</main>")]
    return re.sub(r'(value|nonce)="[^"]*"', "", main)


def test_a_restored_copy_verifies_the_receipt_and_the_letter(ready, frozen, app, client, make_app, s3_server,  # noqa: F811
                                                            bucket, empty_database, tmp_path):  # fmt: skip
    # The round: an application with an attachment, submitted; an award; its letter issued.
    applications.add_attachment(ready.lead_user, ready.app, FileStorage(io.BytesIO(PDF), filename="Жарғы.pdf"))
    submission = applications.submit(ready.lead_user, ready.app)
    frozen.to(ready.call.closes_at + timedelta(days=1))
    db.session.add(Decision(application_id=ready.app.id, outcome="award", decided_by_id=ready.manager.id))
    db.session.commit()
    [award] = awards.create_from_decisions(ready.manager, ready.call)
    letter = issuing.issue_letter(ready.manager, award, "kk")
    receipt, code, letter_sha = submission.sha256, letter.verification_code, letter.sha256
    client.get("/language/en")
    verified_before = main_of(client.get(f"/verify/{code}").get_data(as_text=True))
    assert letter_sha in verified_before

    folder = tmp_path / "backup"
    result = cli(app, "backup", str(folder))
    assert result.exit_code == 0, result.output
    manifest = json.loads((folder / "manifest.json").read_text())
    objects = in_bucket(s3_server, bucket)
    assert len(objects) == 2 and set(manifest["files"]) == {"database.dump"} | {f"objects/{k}" for k in objects}
    for key, data in objects.items():
        assert manifest["files"][f"objects/{key}"] == {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    assert (folder / "database.dump").read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format
    assert manifest["migration"]["database"] == manifest["migration"]["code_head"]
    assert manifest["app_version"] and manifest["created_at"] and manifest["storage"]["objects"] == 2

    # Restored into a new, empty database and a new bucket, served by another app.
    new_bucket = s3_server.new_bucket()
    restored = on_s3(make_app, empty_database(), s3_server, new_bucket)
    result = cli(restored, "restore", str(folder))
    assert result.exit_code == 0, result.output
    assert in_bucket(s3_server, new_bucket) == objects
    head = s3_server.client().head_object(Bucket=new_bucket, Key=f"{PREFIX}/{letter.path}")
    assert head["ContentType"] == "application/pdf"
    with restored.app_context():
        row = db.session.execute(db.select(Submission)).scalar_one()
        assert row.sha256 == receipt == hashlib.sha256(row.snapshot.encode()).hexdigest()  # as submit computes it
        [listed] = json.loads(row.snapshot)["attachments"]
        stored = db.session.execute(db.select(Attachment)).scalar_one()
        assert hashlib.sha256(storage.storage().get(stored.path)).hexdigest() == listed["sha256"]
        kept = db.session.execute(db.select(Letter)).scalar_one()
        assert hashlib.sha256(issuing.letter_bytes(kept)).hexdigest() == kept.sha256 == letter_sha
    visitor = restored.test_client()
    visitor.get("/language/en")
    answer = visitor.get(f"/verify/{code}")
    assert answer.status_code == 200 and main_of(answer.get_data(as_text=True)) == verified_before
    lead = restored.test_client()
    login(lead, ready.lead_user.email)
    assert lead.get(f"/awards/{award.id}/letter.pdf").data == objects[letter.path]

    again = cli(restored, "restore", str(folder))  # the restored database is not empty now
    assert again.exit_code != 0 and "database is not empty" in again.output


def test_a_changed_file_or_a_used_database_or_bucket_is_refused(app, make_app, s3_server, bucket, empty_database,
                                                               tmp_path):  # fmt: skip
    storage.save("letters/1-v1-ABC.pdf", PDF, "application/pdf")
    db.session.commit()
    folder = tmp_path / "backup"
    assert cli(app, "backup", str(folder)).exit_code == 0
    assert cli(app, "backup", str(folder)).exit_code != 0  # never written over an earlier backup

    target_url, target_bucket = empty_database(), s3_server.new_bucket()
    target = on_s3(make_app, target_url, s3_server, target_bucket)
    letter_copy = folder / "objects" / "letters" / "1-v1-ABC.pdf"
    for damaged, change in ((letter_copy, lambda b: b.replace(b"1.4", b"1.5")),
                            (folder / "database.dump", lambda b: b[:-1] + bytes([b[-1] ^ 1]))):  # fmt: skip
        original = damaged.read_bytes()
        damaged.write_bytes(change(original))
        result = cli(target, "restore", str(folder))
        assert result.exit_code != 0 and "does not match its SHA-256" in result.output, result.output
        damaged.write_bytes(original)
    (folder / "objects" / "letters" / "extra.pdf").write_bytes(PDF)
    result = cli(target, "restore", str(folder))
    assert result.exit_code != 0 and "not in the manifest" in result.output
    (folder / "objects" / "letters" / "extra.pdf").unlink()
    with target.app_context():
        assert sa.inspect(db.engine).get_table_names() == []  # nothing was restored by a refused attempt
    assert in_bucket(s3_server, target_bucket) == {}

    s3_server.client().put_object(Bucket=target_bucket, Key=f"{PREFIX}/files/already-here.pdf", Body=PDF)
    result = cli(target, "restore", str(folder))
    assert result.exit_code != 0 and "storage" in result.output and "not empty" in result.output
    result = cli(app, "restore", str(folder))  # the source: its database has tables
    assert result.exit_code != 0 and "database is not empty" in result.output


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_make_runs_sqlite_and_folder_back_up_and_restore(make_app, database_url, users, tmp_path):
    source = make_app(database_url)
    with source.app_context():
        users("lead@example.kz")
        storage.save("attachments/a.pdf", PDF, "application/pdf")
        db.session.commit()
    folder = tmp_path / "backup"
    assert cli(source, "backup", str(folder)).exit_code == 0
    assert sorted(json.loads((folder / "manifest.json").read_text())["files"]) == [
        "database.sqlite3", "objects/attachments/a.pdf"]  # fmt: skip

    target = make_app(f"sqlite:///{tmp_path / 'restored.sqlite3'}", UPLOAD_DIR=str(tmp_path / "restored-uploads"))
    result = cli(target, "restore", str(folder))
    assert result.exit_code == 0, result.output
    with target.app_context():
        assert storage.storage().get("attachments/a.pdf") == PDF
        from grants.accounts.services import find_by_email

        assert find_by_email("lead@example.kz") is not None
