"""Faults made on purpose: a Redis of the test's own that it stops and starts again (the shared
one is never touched), and a submittable application built once the way an applicant would."""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from applications.conftest import complete
from conftest import _free_port, call_data, unavailable


class PrivateRedis:
    """A redis-server process on a free port, with no persistence: stop() kills it (SIGKILL, as a
    crash would), start() brings a new one up on the same port."""

    def __init__(self, folder: Path):
        self.port = _free_port()
        self.folder = folder
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self.wait(up=True)

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None
        self.wait(up=False)

    def pause(self) -> None:
        """SIGSTOP: the server keeps its connections open but answers nothing (a partition, a
        paused virtual machine), the hardest way for a broker to fail."""
        import signal

        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        import signal

        self.process.send_signal(signal.SIGCONT)
        self.wait(up=True)

    def answers(self) -> bool:
        import redis

        try:
            return bool(redis.Redis.from_url(self.url, socket_connect_timeout=0.5, socket_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def wait(self, *, up: bool, within: float = 10.0) -> None:
        deadline = time.monotonic() + within
        while self.answers() != up:
            assert time.monotonic() < deadline, f"redis on port {self.port} still {'down' if up else 'up'}"
            time.sleep(0.05)


@pytest.fixture
def private_redis(tmp_path):
    if shutil.which("redis-server") is None:
        unavailable("redis-server", "the redis-server program is not installed")
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def limiter_recovers():
    """Flask-Limiter is one object for every app in the process: once it has fallen back to memory it
    stays there until its own back-off lets it look at the storage again. The next test's app must
    start from its configured storage, so the fallback flag is put back here."""
    from grants.extensions import limiter

    yield limiter
    limiter._storage_dead = False


@dataclass
class Ready:
    lead_email: str
    app_id: int
    call_id: int


def build_ready(users, organization, **call) -> Ready:
    """A published call (closing NOW + 30 days unless `closes_at` is given), a two-NGO consortium,
    its complete draft: committed. Call with the clock frozen (fixture `frozen`)."""
    from grants.applications import services as applications
    from grants.calls import services as calls
    from grants.consortia import services as consortia
    from grants.extensions import db
    from grants.organizations.bin import complete_bin

    manager = users("manager@example.kz", role="manager")
    lead, partner = users("lead@example.kz", locale="kk"), users("partner@example.kz")
    lead_org = organization(lead, name="Арал ҮЕҰ", bin=complete_bin("20054000777"))
    partner_org = organization(partner, name="Жас Дала", bin=complete_bin("21054000888"), region="aktobe")
    call = calls.create(manager, call_data(**call))
    calls.publish(manager, call)
    consortium = consortia.create(lead, name="Арал консорциумы", lead_organization_id=lead_org.id,
                                  partner_organization_ids=[partner_org.id])  # fmt: skip
    consortia.respond(partner, consortium, organization_id=partner_org.id, accept=True)
    draft = applications.create(lead, call, consortium)

    class World:
        pass

    world = World()
    world.lead_org, world.partner_org = lead_org, partner_org
    applications.save(lead, draft, complete(world), version=draft.version)
    db.session.commit()
    return Ready(lead.email, draft.id, call.id)
