"""Issue 11 ("Integrity"), "Bad input never changes data and never answers 500": a property-based
test throws malformed bodies (wrong types, nested junk, huge numbers, NUL bytes and surrogates,
lists where objects belong) at EVERY operation of the API (`grants.api.core.ENDPOINTS`), as a user
whose role may call it and with real ids of the demo round (built once, on PostgreSQL).

Properties: no answer is a server error; a refused request (4xx) changes no row of any table."""

from __future__ import annotations

import os
import re
from collections import Counter

import pytest
import sqlalchemy as sa
from conftest import FreshContextClient, _base_config
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from grants.api.core import ENDPOINTS, Body
from grants.extensions import db

EXAMPLES = int(os.environ.get("GRANTS_FUZZ_EXAMPLES", "15"))  # more for a deeper run by hand
SKIP_TABLES = {"alembic_version"}

JUNK_LEAVES = (
    st.none() | st.booleans() | st.integers(min_value=-(2**80), max_value=2**80)
    | st.sampled_from([0, -1, 2**31 - 1, 2**31, 2**63, 10**30, 1.5, -0.0, 1e308])
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(["", " ", "\x00", "a\x00b", "\ud800", "x" * 600, "2027-13-45", "1e5", "{}", "[]", "null"])
)  # fmt: skip
JUNK = st.recursive(
    JUNK_LEAVES,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


def schema_of(ep) -> dict:
    if isinstance(ep.body, Body):
        return ep.body.json_schema()
    return ep.body if isinstance(ep.body, dict) else {}


def bodies(ep):
    """Objects with the operation's own keys holding junk, and junk where the object belongs."""
    props = schema_of(ep).get("properties", {})
    keyed = st.fixed_dictionaries({}, optional={key: JUNK for key in props}) if props else st.just({})
    nested = {
        key: st.lists(st.dictionaries(st.sampled_from(sorted(p.get("items", {}).get("properties", {}) or ["x"])),
                                      JUNK, max_size=4) | JUNK, max_size=3)
        for key, p in props.items() if p.get("type") == "array"
    }  # fmt: skip
    with_rows = st.fixed_dictionaries({}, optional=nested) if nested else keyed
    return st.one_of(keyed, with_rows, JUNK)


@pytest.fixture(scope="module")
def round_(pg_database, demo_database, tmp_path_factory):
    """The demo round (calls in every state, applications, reviews, decisions, awards) on PostgreSQL,
    and a bearer token per role."""
    from grants import create_app
    from grants.accounts.models import User
    from grants.accounts.services import issue_api_token

    folder = tmp_path_factory.mktemp("fuzz")
    app = create_app(_base_config(demo_database("postgresql", folder), folder) | {"RATELIMIT_ENABLED": False})
    app.test_client_class = FreshContextClient
    with app.app_context():
        tokens = {}
        for email in ("aral@demo.kz", "manager@demo.kz", "admin@demo.kz", "reviewer@demo.kz", "zhasyl@demo.kz"):
            user = db.session.execute(db.select(User).filter_by(email=email)).scalar_one()
            tokens[email] = (user, issue_api_token(user, second_factor=True)[0])
        db.session.commit()
        ids = {}
        for table in db.metadata.sorted_tables:
            if "id" in table.c:
                ids[table.name] = list(db.session.execute(sa.select(table.c.id).order_by(table.c.id)).scalars())
        count_writes()
        yield app, tokens, ids
        db.session.remove()
        db.engine.dispose()


def _tables() -> list[str]:
    return [t.name for t in db.metadata.sorted_tables if t.name not in SKIP_TABLES]


def count_writes() -> None:
    """A counter of the statements that wrote to any table, kept by triggers in this module's own
    copy of the demo database: while it stands still nothing was written, and the digest of every
    row (`snapshot`) need not be read again."""
    triggers = "; ".join(
        f'CREATE TRIGGER fuzz_count AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "{name}" '
        "FOR EACH STATEMENT EXECUTE FUNCTION fuzz_count()"
        for name in _tables()
    )
    with db.engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE fuzz_writes (n bigint NOT NULL); INSERT INTO fuzz_writes VALUES (0); "
            "CREATE FUNCTION fuzz_count() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN UPDATE fuzz_writes SET n = n + 1; RETURN NULL; END $$; " + triggers
        )


def writes() -> int:
    with db.engine.connect() as conn:
        return conn.exec_driver_sql("SELECT n FROM fuzz_writes").scalar_one()


def snapshot() -> dict:
    """Every table's row count and a digest of its rows."""
    tables = _tables()
    query = " UNION ALL ".join(
        f"SELECT '{name}', count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM \"{name}\" t"
        for name in tables
    )
    with db.engine.connect() as conn:
        return {name: (n, digest) for name, n, digest in conn.execute(sa.text(query))}


def ids_for(param: str, ids: dict) -> list[int]:
    if param == "n":
        return [1, 2, 3]
    name = {
        "app_id": "application",
        "org_id": "organization",
        "assignment_id": "review_assignment",
        "report_id": "award_report",
    }.get(param, param.removesuffix("_id"))
    return ids.get(name) or [1]


def callers(ep, tokens) -> list[str]:
    """Tokens of users whose role may call the operation (any signed-in user when it names none)."""
    if not ep.roles:
        return [token for _user, token in tokens.values()]
    return [token for user, token in tokens.values() if user.has_role(*ep.roles)]


def path_of(rule: str, values: dict) -> str:
    return "/api/v1" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), rule)


def test_malformed_bodies_never_answer_500_and_refused_ones_change_nothing(round_):
    app, tokens, ids = round_
    client = app.test_client()
    problems: list[str] = []
    # Every operation that takes a body (or could be sent one). Revoking the token is left out: it
    # has no body, and revoking the shared tokens would leave every later operation answering 401.
    operations = [ep for ep in ENDPOINTS if ep.method in ("POST", "PUT", "PATCH", "DELETE")
                  and (ep.rule, ep.method) != ("/auth/token", "DELETE")]  # fmt: skip
    assert len(operations) >= 20
    seen: dict[str, Counter] = {}
    state = {"rows": snapshot(), "writes": writes()}  # the database as the last request left it

    for ep in operations:
        try:
            thrower(ep, client, tokens, ids, seen.setdefault(f"{ep.method} {ep.rule}", Counter()), state)()
        except Exception as error:  # noqa: BLE001  (every operation is tried; all findings listed)
            problems.append(f"{ep.method} {ep.rule}: {type(error).__name__}: {str(error).splitlines()[0][:500]}")
    assert not problems, "\n".join(problems)
    assert state["writes"] > 0, "no accepted request wrote a row: the write counter is not counting"
    # The bodies reached the checks: most operations refused some of them as invalid (422), not
    # only as unauthorised or unknown.
    refused = [op for op, statuses in seen.items() if statuses[422] or statuses[400]]
    assert len(refused) >= len(operations) * 2 // 3, seen


def thrower(ep, client, tokens, ids, statuses: Counter, state: dict):
    """Nothing else writes to the database between two requests: what one request left is what the
    next one finds. So the rows are read after a request (not before and after), and only when a
    statement wrote to a table (a refusal that writes nothing leaves every row as it was)."""
    params = {p: st.sampled_from(ids_for(p, ids)) for p in ep.path_params}

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              phases=(Phase.explicit, Phase.generate), suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(body=bodies(ep), values=st.fixed_dictionaries(params), token=st.sampled_from(callers(ep, tokens)))
    def throw(body, values, token):
        before = state["rows"]
        path = path_of(ep.rule, values)
        headers = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}
        where = f"{ep.method} {path} body={body!r}"
        try:
            response = client.open(path, method=ep.method, json=body, headers=headers)
        except Exception as error:  # the test app propagates a server error instead of answering 500
            state.update(rows=snapshot(), writes=writes())
            raise AssertionError(f"{where} → 500 ({type(error).__name__}: {error})") from error
        statuses[response.status_code] += 1
        if writes() != state["writes"]:
            state.update(rows=snapshot(), writes=writes())
        after = state["rows"]
        assert response.status_code < 500, f"{where} → {response.status_code}"
        if response.status_code >= 400:
            changed = sorted(name for name in after if after[name] != before.get(name))
            assert not changed, f"{where} → {response.status_code} but changed {changed}"

    return throw
