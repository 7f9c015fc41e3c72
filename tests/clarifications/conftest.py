"""A closed blind call with one submitted, eligible application of a two-organization consortium,
assigned to one reviewer who declared no conflict, and a second reviewer never assigned."""

from dataclasses import dataclass
from datetime import timedelta

import pytest
from applications.conftest import complete
from conftest import call_data

from grants.applications import services as applications
from grants.calls import services as calls
from grants.consortia import services as consortia
from grants.extensions import db
from grants.organizations.bin import complete_bin
from grants.reviews import services as reviews
from grants.reviews.models import Assignment

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@dataclass
class Scene:
    call: object
    app: object
    draft: object
    manager: object
    lead: object
    partner: object
    reviewer: object
    other_reviewer: object
    outsider: object
    assignment: object


def build(*, frozen, users, organization, manager, lead_locale: str = "kk") -> Scene:
    call = calls.create(manager, call_data(consortium_min_members=2, blind_review=True, reviewers_per_application=1))
    calls.publish(manager, call)
    later = calls.create(
        manager, call_data(code="SG-2027-9", closes_at=(call.closes_at + timedelta(days=90)).isoformat())
    )
    calls.publish(manager, later)
    lead = users("lead@example.kz", locale=lead_locale)
    partner = users("partner@example.kz", locale="ru")
    outsider = users("outsider@example.kz", locale="ru")
    lead_org = organization(lead, name="Арал Жасыл Ұйым", bin=complete_bin("20054000777"))
    partner_org = organization(partner, name="Степной Партнёр", bin=complete_bin("21054000888"), region="aktobe")
    consortium = consortia.create(lead, name="Арал консорциумы", lead_organization_id=lead_org.id,
                                  partner_organization_ids=[partner_org.id])  # fmt: skip
    consortia.respond(partner, consortium, organization_id=partner_org.id, accept=True)

    class World:
        pass

    World.lead_org, World.partner_org = lead_org, partner_org
    app = applications.create(lead, call, consortium)
    applications.save(lead, app, complete(World), version=app.version)
    applications.submit(lead, app)
    draft = applications.create(lead, later, consortium)
    reviewer = users("reviewer@example.kz", role="reviewer", locale="kk")
    frozen.to(call.closes_at + timedelta(hours=1))
    reviews.set_eligibility(manager, app, eligible=True, reason="Все условия соблюдены")
    reviews.auto_assign(manager, call)
    assignment = db.session.execute(db.select(Assignment).filter_by(application_id=app.id)).scalar_one()
    reviews.declare(reviewer, assignment, conflict=False)
    other_reviewer = users("reviewer2@example.kz", role="reviewer", locale="ru")
    db.session.commit()
    return Scene(call, app, draft, manager, lead, partner, reviewer, other_reviewer, outsider, assignment)


@pytest.fixture
def scene(app, frozen, users, organization, manager):
    return build(frozen=frozen, users=users, organization=organization, manager=manager)
