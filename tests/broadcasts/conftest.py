"""The review stage's call (three submitted applications, leads lead0..2, four reviewers), with a
draft of a fourth consortium, an award for the first application, two reviewers assigned to it and
a reviewer of nothing. lead1 reads Russian, the others Kazakh."""

from dataclasses import dataclass
from datetime import timedelta

import pytest
from reviews.conftest import stage  # noqa: F401

from grants.extensions import db


@dataclass
class Scene:
    stage: object
    draft_lead: object


@pytest.fixture
def scene(stage, users, organization):  # noqa: F811
    from grants.applications.models import Application
    from grants.awards import services as awards
    from grants.consortia import services as consortia
    from grants.core import clock
    from grants.organizations.bin import complete_bin
    from grants.reviews.models import Assignment, Decision

    stage.leads[1].locale = "ru"
    draft_lead = users("draft@example.kz", locale="en")
    org = organization(draft_lead, name="Draft org", bin=complete_bin("20054009777"))
    consortium = consortia.create(draft_lead, name="C-draft", lead_organization_id=org.id, partner_organization_ids=[])
    db.session.add(Application(call_id=stage.call.id, consortium_id=consortium.id, title="Draft"))
    for seat, reviewer in enumerate(stage.reviewers[:2], start=1):
        db.session.add(Assignment(application_id=stage.apps[0].id, reviewer_id=reviewer.id, seat=seat,
                                  due_at=clock.now() + timedelta(days=10)))  # fmt: skip
    db.session.add(Decision(application_id=stage.apps[0].id, outcome="award", decided_by_id=stage.manager.id))
    db.session.commit()
    awards.create_from_decisions(stage.manager, stage.call)
    db.session.commit()
    return Scene(stage, draft_lead)
