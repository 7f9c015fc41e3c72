"""Query count per page must not grow with the data (no query inside a loop over rows)."""

from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from conftest import call_data, login

from grants.extensions import db


@contextmanager
def counting():
    statements = []

    def before(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", before)


def build(n: int, users, organization, manager):
    """n consortia with submitted applications in one call (assigned to reviewers below)."""

    from applications.conftest import complete

    from grants.applications import services as applications
    from grants.calls import services as calls
    from grants.consortia import services as consortia
    from grants.organizations.bin import complete_bin

    call = calls.create(manager, call_data(code=f"Q-{n}"))
    calls.publish(manager, call)
    for i in range(n):
        lead = users(f"q{n}lead{i}@example.kz")
        partner = users(f"q{n}partner{i}@example.kz")
        lead_org = organization(lead, name=f"L{n}-{i}", bin=complete_bin(f"20{n:02d}4{i:03d}777"[:11]))
        partner_org = organization(partner, name=f"P{n}-{i}", bin=complete_bin(f"21{n:02d}4{i:03d}888"[:11]))
        consortium = consortia.create(lead, name=f"C{n}-{i}", lead_organization_id=lead_org.id,
                                      partner_organization_ids=[partner_org.id])  # fmt: skip
        consortia.respond(partner, consortium, organization_id=partner_org.id, accept=True)
        app = applications.create(lead, call, consortium)

        class World:
            pass

        World.lead_org, World.partner_org = lead_org, partner_org
        applications.save(lead, app, complete(World), version=app.version)
        applications.submit(lead, app)
    return call


@pytest.fixture
def sized(app, frozen, users, organization, manager):
    from datetime import timedelta

    for i in range(4):
        users(f"rev{i}@example.kz", role="reviewer")
    small = build(2, users, organization, manager)
    large = build(8, users, organization, manager)
    frozen.to(small.closes_at + timedelta(hours=1))
    from grants.applications.models import Application
    from grants.reviews import services as reviews

    for call in (small, large):
        for application in db.session.execute(db.select(Application).filter_by(call_id=call.id)).scalars().all():
            reviews.set_eligibility(manager, application, eligible=True, reason="")
        reviews.auto_assign(manager, call)
    return small, large


def count(client, path: str) -> int:
    with counting() as statements:
        response = client.get(path)
    assert response.status_code == 200, path
    return len(statements)


def test_manager_pages_query_the_same_whatever_the_size(sized, client):
    small, large = sized
    login(client, "manager@example.kz")
    for template in ("/manage/calls/{id}/ranking", "/manage/calls/{id}/review", "/calls/{id}", "/calls"):
        a, b = count(client, template.format(id=small.id)), count(client, template.format(id=large.id))
        assert a == b, (template, a, b)


def test_public_pages_query_count_is_small(client, app):
    assert count(client, "/calls") <= 6
    assert count(client, "/") <= 3
