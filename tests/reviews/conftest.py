"""A closed call with three submitted applications from three consortia and four reviewers
(one affiliated with the first lead organization)."""

from dataclasses import dataclass
from datetime import timedelta

import pytest
from applications.conftest import complete
from conftest import call_data

from grants.applications import services as applications
from grants.calls import services as calls
from grants.consortia import services as consortia
from grants.organizations.bin import complete_bin
from grants.reviews import services


@dataclass
class Stage:
    call: object
    manager: object
    apps: list
    leads: list
    reviewers: list


@pytest.fixture
def stage(app, frozen, users, organization, manager):
    call = calls.create(manager, call_data(consortium_min_members=2))
    calls.publish(manager, call)
    apps, leads = [], []
    for n in range(3):
        lead = users(f"lead{n}@example.kz", locale="kk")
        partner = users(f"partner{n}@example.kz")
        lead_org = organization(lead, name=f"Lead {n}", bin=complete_bin(f"2005400{n}777"))
        partner_org = organization(partner, name=f"Partner {n}", bin=complete_bin(f"2105400{n}888"))
        if n == 0:
            lead_org.women_led = lead_org.women_led_verified = True
        consortium = consortia.create(lead, name=f"C{n}", lead_organization_id=lead_org.id,
                                      partner_organization_ids=[partner_org.id])  # fmt: skip
        consortia.respond(partner, consortium, organization_id=partner_org.id, accept=True)
        application = applications.create(lead, call, consortium)

        class World:
            pass

        World.lead_org, World.partner_org = lead_org, partner_org
        applications.save(lead, application, complete(World), version=application.version)
        applications.submit(lead, application)
        apps.append(application)
        leads.append(lead)
    reviewers = [users(f"r{n}@example.kz", role="reviewer") for n in range(4)]
    services.set_profile(reviewers[0], affiliations=[apps[0].consortium.lead_organization_id], conflicts={},
                         regions=[], expertise="")  # fmt: skip
    frozen.to(call.closes_at + timedelta(hours=1))
    return Stage(call, manager, apps, leads, reviewers)


def score_all(stage, values):
    """Every assigned reviewer declares no conflict and submits `values` for each criterion."""
    from grants.extensions import db
    from grants.reviews.models import Assignment

    for assignment in db.session.execute(db.select(Assignment).where(Assignment.status == "pending")).scalars().all():
        reviewer = assignment.reviewer
        services.declare(reviewer, assignment, conflict=False)
        services.save_review(reviewer, assignment, scores=values(assignment), comments={"relevance": "Жақсы"},
                             overall_comment="Ok", submit=True)  # fmt: skip
