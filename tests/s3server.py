"""A real S3 protocol server for the suite: moto's standalone server in a process of its own
(`python -m moto.server`), spoken to over HTTP by boto3 exactly as a bucket on AWS or MinIO
would be. Each test takes a new bucket, so tests never see each other's objects."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field

import pytest

# moto accepts any keys; boto3 needs some, and worker processes started by a test inherit them.
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "grants-test", "AWS_SECRET_ACCESS_KEY": "grants-test-secret",
               "AWS_DEFAULT_REGION": "us-east-1"}  # fmt: skip


@dataclass
class S3Server:
    endpoint_url: str
    process: subprocess.Popen
    buckets: list[str] = field(default_factory=list)

    def client(self):
        import boto3

        return boto3.session.Session().client("s3", endpoint_url=self.endpoint_url)

    def new_bucket(self) -> str:
        name = f"grants-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        self.buckets.append(name)
        return name

    def objects(self, bucket: str) -> dict[str, bytes]:
        """Every object of the bucket: key -> bytes."""
        client = self.client()
        listed = client.list_objects_v2(Bucket=bucket).get("Contents", [])
        return {o["Key"]: client.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in listed}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def s3_server():
    missing = {k: v for k, v in CREDENTIALS.items() if not os.environ.get(k)}
    os.environ.update(missing)
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    server = S3Server(f"http://127.0.0.1:{port}", process)
    deadline = time.monotonic() + 30
    while True:
        try:
            server.client().list_buckets()
            break
        except Exception as exc:  # noqa: BLE001  (not listening yet)
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"moto's S3 server did not start on port {port}: {type(exc).__name__}", pytrace=False)
            time.sleep(0.05)  # polling for the port to open, not timing a behaviour
    try:
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        for key in missing:
            os.environ.pop(key, None)
