"""Issue 14 ("Security"), automated probing: schemathesis generates requests from the API's own
OpenAPI document (`/api/v1/openapi.json`) and sends them, with a valid bearer token, to the app
holding the demo round on PostgreSQL. Every operation must answer without a server error and
with a body its documented response schema allows. ASVS V4.1.1 (API documented and served as
documented), V2.2.1 (input validated before use), V16.5.3 (errors handled, never a 500)."""

from __future__ import annotations

import os
from collections import Counter

import pytest
import schemathesis
import sqlalchemy as sa
from conftest import FreshContextClient, _base_config
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from grants.extensions import db

EXAMPLES = int(os.environ.get("GRANTS_SCHEMATHESIS_EXAMPLES", "4"))  # more for a deeper run by hand
CHECKS = [not_a_server_error, response_schema_conformance]
# Revoking the token or erasing one's own account would leave every later operation answering 401.
LEFT_OUT = {("DELETE", "/api/v1/auth/token"), ("DELETE", "/api/v1/me")}


@pytest.fixture(scope="module")
def demo(pg_database, demo_database, tmp_path_factory):
    """The demo round on PostgreSQL and a manager's token (the role that may call most operations)."""
    from grants import create_app
    from grants.accounts.models import User
    from grants.accounts.services import issue_api_token

    folder = tmp_path_factory.mktemp("schemathesis")
    app = create_app(_base_config(demo_database("postgresql", folder), folder) | {"RATELIMIT_ENABLED": False})
    app.test_client_class = FreshContextClient
    with app.app_context():
        tokens = {}
        for email in ("manager@demo.kz", "aral@demo.kz"):
            user = db.session.execute(db.select(User).filter_by(email=email)).scalar_one()
            tokens[email] = issue_api_token(user, second_factor=True)[0]
        db.session.commit()
        ids = {table.name: list(db.session.execute(sa.select(table.c.id).order_by(table.c.id)).scalars())
               for table in db.metadata.sorted_tables if "id" in table.c}  # fmt: skip
    yield app, tokens, ids
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def ids_for(param: str, ids: dict) -> list[int]:
    if param == "n":
        return [1, 2, 3]
    table = {"app_id": "application", "org_id": "organization", "assignment_id": "review_assignment",
             "report_id": "award_report"}.get(param, param.removesuffix("_id"))  # fmt: skip
    return ids.get(table) or [1]


def run_operation(operation, headers: dict, failures: list[str], statuses: Counter, ids: dict) -> None:
    # Real ids half of the time (random ones only meet 404s), any id the database could hold otherwise.
    params = {p["name"]: st.sampled_from(ids_for(p["name"], ids)) | st.integers(1, 2**31 - 1)
              for p in operation.definition.raw.get("parameters", [])
              if p.get("in") == "path" and p.get("schema", {}).get("type") == "integer"}  # fmt: skip
    # Requests the document allows, and requests it does not (those must be refused, never a 500).
    cases = operation.as_strategy(GenerationMode.POSITIVE) | operation.as_strategy(GenerationMode.NEGATIVE)

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              phases=(Phase.explicit, Phase.generate), suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(case=cases, values=st.fixed_dictionaries(params))
    def probe(case, values):
        if case.path_parameters:
            case.path_parameters = {**case.path_parameters, **values}
        try:
            response = case.call(headers=headers)
            statuses[response.status_code] += 1
            case.validate_response(response, checks=CHECKS)
        except (Exception, BaseExceptionGroup) as error:  # noqa: BLE001  (schemathesis reports failures as its own exceptions)
            failures.append(
                f"{operation.method.upper()} {operation.path}: {type(error).__name__}: {str(error).strip()[:1500]}"
            )
            raise

    try:
        probe()
    except (Exception, BaseExceptionGroup):  # noqa: BLE001  (recorded above; every operation is tried)
        pass


@pytest.mark.parametrize("who", ["manager@demo.kz", "aral@demo.kz"])
def test_schemathesis_finds_no_server_error_and_no_response_outside_its_schema(demo, who):
    app, tokens, ids = demo
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    headers = {"Authorization": f"Bearer {tokens[who]}", "Accept-Language": "en"}
    failures: list[str] = []
    statuses: Counter = Counter()
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in LEFT_OUT:
            continue
        operations += 1
        run_operation(operation, headers, failures, statuses, ids)
    assert operations >= 50
    assert not failures, "\n\n".join(failures)
    # The requests reached the operations: a good part were answered with success, not only refused
    # (an applicant may call fewer operations than a manager).
    assert sum(n for status, n in statuses.items() if status < 300) >= operations // 3, statuses
