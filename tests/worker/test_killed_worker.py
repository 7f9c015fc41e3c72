"""A worker killed with SIGKILL in the middle of a letter batch: the batch is not lost, and a
worker started afterwards finishes it within its visibility timeout — one letter per award, each
letter's email delivered once, no stored PDF without its letter."""

from __future__ import annotations

import redis
import sqlalchemy as sa

from grants.awards import services
from grants.core import storage
from grants.core.tasks import enqueue

from .conftest import until


def test_a_batch_killed_mid_way_is_finished_once_by_the_next_worker(awarded, app, make_app, workers, private_redis,
                                                                     smtp_server):  # fmt: skip
    staged, _awards = awarded
    _host, _port, inbox = smtp_server
    order = [award.id for award in services.awards_of_call(staged.call)]
    leads = sorted(lead.email for lead in staged.leads)
    assert len(order) == 3
    engine = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"], poolclass=sa.pool.NullPool)

    def rows(sql: str) -> list:
        with engine.connect() as conn:
            return conn.execute(sa.text(sql)).all()

    def letters() -> list[int]:
        return [award_id for (award_id,) in rows("SELECT award_id FROM award_letter ORDER BY award_id")]

    def waiting_for_a_lock() -> int:
        return rows("SELECT count(DISTINCT l.pid) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                    "WHERE NOT l.granted AND a.datname = current_database()")[0][0]  # fmt: skip

    # The second award's row is held by the test, so the first worker issues one letter, then waits.
    blocker = engine.connect()
    blocker.begin()
    blocker.execute(sa.text("SELECT id FROM award WHERE id = :id FOR UPDATE"), {"id": order[1]})
    first = workers.start("first")
    sender = make_app(app.config["SQLALCHEMY_DATABASE_URI"], BROKER_URL=private_redis, TASKS_EAGER=False,
                      TASK_QUEUE=workers.queue)  # fmt: skip
    with sender.app_context():
        enqueue("grants.issue_letters", staged.call.id, staged.manager.id)
    until(lambda: letters() == [order[0]] and waiting_for_a_lock() == 1, timeout=90,
          what="the first letter committed and the worker waiting on the second award")  # fmt: skip
    workers.kill(first)  # mid-batch: one letter of three
    blocker.rollback()
    blocker.close()
    assert letters() == [order[0]]

    workers.start("second", GRANTS_BROKER_VISIBILITY_TIMEOUT="2")
    broker = redis.Redis.from_url(private_redis)

    def settled() -> bool:
        pending = rows("SELECT count(*) FROM notification WHERE kind = 'award_letter' "
                       "AND status IN ('claimed', 'sending')")[0][0]  # fmt: skip
        queued = sum(broker.llen(key) for key in broker.scan_iter(f"{workers.queue}*"))
        done = sorted(letters()) == sorted(order) and len(inbox.messages) >= 3
        return done and pending == 0 and queued == 0 and broker.hlen("unacked") == 0

    until(settled, timeout=90, what="the second worker finished the batch and sent every email")
    assert sorted(letters()) == sorted(order)  # exactly one letter per award
    assert sorted(m["To"] for m in inbox.messages) == leads  # each letter's email once, nothing lost
    assert all(
        [part.get_content_type() for part in m.iter_attachments()] == ["application/pdf"] for m in inbox.messages
    )
    notes = rows("SELECT status, attempts FROM notification WHERE kind = 'award_letter'")
    assert sorted(notes) == [("sent", 1)] * 3
    paths = {path for (path,) in rows("SELECT path FROM award_letter")}
    assert set(storage.storage().keys("letters/")) == paths  # no PDF left over by the killed worker
    engine.dispose()
