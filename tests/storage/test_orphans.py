"""Stored files no row names (a worker killed between writing a letter and its commit) are found
and, a day later, deleted; files the rows name, and files too new to judge, are kept."""

import io
from datetime import UTC, datetime, timedelta

from werkzeug.datastructures import FileStorage

from grants.applications import services as applications
from grants.core import storage
from grants.ops.orphans import collect, referenced_keys

from .conftest import in_bucket
from .test_s3 import PDF, USTAV, scene  # noqa: F401  (the fixture)


def test_files_no_row_names_are_deleted_once_old_enough(app, scene, s3_server, bucket):  # noqa: F811
    kept = applications.add_attachment(scene.lead, scene.app, FileStorage(io.BytesIO(PDF), filename=USTAV))
    storage.storage().put("letters/9-v1-LOST.pdf", PDF, "application/pdf")  # written, never committed
    assert kept.path in referenced_keys()

    real_now = datetime.now(UTC)
    assert collect(delete=True, now=real_now).found == []  # too new: a request may be committing it now
    assert set(in_bucket(s3_server, bucket)) == {kept.path, "letters/9-v1-LOST.pdf"}

    # The command judges by the programme's clock (frozen here months after the file was written).
    listed = app.test_cli_runner().invoke(args=["storage", "orphans"])
    assert listed.exit_code == 0 and listed.output.splitlines() == ["orphan letters/9-v1-LOST.pdf", "1 orphan(s)"]

    later = real_now + timedelta(days=2)
    assert collect(delete=False, now=later).found == ["letters/9-v1-LOST.pdf"]
    assert set(in_bucket(s3_server, bucket)) == {kept.path, "letters/9-v1-LOST.pdf"}  # only listed
    result = collect(delete=True, now=later)
    assert result.deleted == ["letters/9-v1-LOST.pdf"]
    assert in_bucket(s3_server, bucket) == {kept.path: PDF}
