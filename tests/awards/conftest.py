"""Awards made from three "award" decisions on the review stage's call (the decisions are written
directly, so these tests depend on the award rules only, not on how selection decides)."""

import pytest
from reviews.conftest import stage  # noqa: F401

from grants.awards import services
from grants.extensions import db
from grants.reviews.models import Decision


@pytest.fixture
def awarded(stage):  # noqa: F811
    lead_org = stage.apps[0].consortium.lead
    lead_org.name = "«Аңғар» әйелдер қауымдастығы: Үміт, Өркен, Ұлытау, Һәм, Ізгілік"
    stage.apps[0].title = "Таза Арал <img src='file:///etc/passwd'>"
    for application in stage.apps:
        db.session.add(Decision(application_id=application.id, outcome="award", decided_by_id=stage.manager.id))
    db.session.commit()
    awards = services.create_from_decisions(stage.manager, stage.call)
    return stage, awards
