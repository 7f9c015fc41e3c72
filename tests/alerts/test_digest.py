"""Issue 13 ("Communication"), item 2: a daily digest for managers and reviewers of what waits for
them: one email a day, none when nothing waits, in the reader's language."""

from datetime import UTC, datetime, timedelta

from reviews.conftest import stage  # noqa: F401

from grants.alerts import services as alerts
from grants.alerts.models import Notification
from grants.extensions import db
from grants.reviews import services as reviews


def next_morning(moment: datetime) -> datetime:
    """09:00 in Astana (04:00 UTC) the day after `moment` (after the call has closed)."""
    return datetime.combine(moment.astimezone(UTC).date() + timedelta(days=1), datetime.min.time(), UTC).replace(hour=4)


def digests(to: str | None = None) -> list[Notification]:
    query = db.select(Notification).where(Notification.kind == "digest")
    if to:
        query = query.where(Notification.recipient == to)
    return list(db.session.execute(query.order_by(Notification.id)).scalars())


def test_one_digest_a_day_for_whoever_has_work_and_none_for_the_others(stage, users, frozen):  # noqa: F811
    for application in stage.apps[:2]:
        reviews.set_eligibility(stage.manager, application, eligible=True, reason="")
    reviews.auto_assign(stage.manager, stage.call)
    idle = users("idle@example.kz", role="reviewer")  # joined the pool after the assignment: nothing waits
    db.session.commit()
    morning = next_morning(frozen.moment)
    frozen.to(morning)
    alerts.run_scan(morning)
    alerts.run_scan(morning.replace(hour=10))  # later the same day: nothing more
    db.session.commit()
    [to_manager] = digests("manager@example.kz")
    assert to_manager.status == "sent"
    sent_to = {n.recipient for n in digests() if n.status == "sent"}
    assert "manager@example.kz" in sent_to and idle.email not in sent_to
    assert any(r.email in sent_to for r in stage.reviewers)
    frozen.to(morning + timedelta(days=1))
    alerts.run_scan(frozen.moment)
    db.session.commit()
    assert len(digests("manager@example.kz")) == 2  # the next day, one more


def test_the_digest_reads_in_the_readers_language(stage, app, frozen):  # noqa: F811
    from conftest import read_outbox, text_of

    stage.manager.locale = "kk"
    db.session.commit()
    moment = next_morning(frozen.moment)
    frozen.to(moment)
    alerts.run_scan(moment)
    db.session.commit()
    [mail] = [m for m in read_outbox(app) if m["To"] == "manager@example.kz"]
    assert mail["Subject"] == "Бүгін сізді не күтіп тұр"
    body = text_of(mail)
    assert "Талаптарға сәйкестігін тексеретін өтінімдер: 3" in body and body.startswith("Сәлеметсіз бе")
