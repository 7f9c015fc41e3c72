"""The app on an S3 bucket of its own (moto's S3 server, spoken to over HTTP by boto3): every test
here stores uploads, evidence and letters in a new, empty bucket under a prefix."""

import pytest

PREFIX = "grants"


@pytest.fixture
def bucket(s3_server) -> str:
    return s3_server.new_bucket()


@pytest.fixture
def app_overrides() -> dict:
    """Extra settings of the app under test (a module asks for a broker, a smaller limit…)."""
    return {}


@pytest.fixture
def app(make_app, database_url, s3_server, bucket, app_overrides):
    app = make_app(database_url, STORAGE_URL=f"s3://{bucket}/{PREFIX}", S3_ENDPOINT_URL=s3_server.endpoint_url,
                   **app_overrides)  # fmt: skip
    with app.app_context():
        yield app


def in_bucket(s3_server, bucket: str) -> dict[str, bytes]:
    """The bucket's objects under the app's prefix: key (as in the `path` columns) -> bytes."""
    return {key.removeprefix(f"{PREFIX}/"): data for key, data in s3_server.objects(bucket).items()}
