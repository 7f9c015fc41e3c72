"""One schema per operation: the body an operation validates is the body its OpenAPI entry shows
("today 16 of 20 request schemas in the OpenAPI are hand-written dicts beside the validation")."""

import inspect
import re

import pytest

from grants.api.core import ENDPOINTS, ID, Body, check, endpoint, text


def module_of(app, ep) -> str:
    name = next(n for n, rule in ((r.endpoint, r.rule) for r in app.url_map.iter_rules())
                if rule == "/api/v1" + ep.rule and ep.method in app.url_map._rules_by_endpoint[n][0].methods)  # fmt: skip
    return app.view_functions[name].__module__


def test_every_body_of_every_api_module_is_one_validated_schema(app):
    import pkgutil

    import grants.api

    plumbing = {"grants.api.core", "grants.api.schema"}
    modules = {f"grants.api.{m.name}" for m in pkgutil.iter_modules(grants.api.__path__)} - plumbing
    bodies = [ep for ep in ENDPOINTS if ep.body is not None]
    assert {module_of(app, ep) for ep in bodies} == modules  # every module with operations is covered
    assert len(bodies) >= 24
    assert [f"{ep.method} {ep.rule}" for ep in bodies if not isinstance(ep.body, Body)] == []
    # an operation reads only its validated body(): no view reads the raw JSON beside its schema
    raw = re.compile(r"json_body\(|request\.get_json\(|request\.json\b")
    readers = [name for name, view in app.view_functions.items() if name.startswith("api.")
               and raw.search(inspect.getsource(inspect.unwrap(view)))]  # fmt: skip
    assert readers == []


def test_an_operation_cannot_declare_a_body_that_is_not_validated():
    with pytest.raises(TypeError):
        endpoint("/nowhere", "POST", summary="x", body={"type": "object"})


def test_the_openapi_document_shows_the_validated_schemas_in_openapi_3_0_terms(client):
    doc = client.get("/api/v1/openapi.json").json

    def walk(node, where):
        if isinstance(node, dict):
            assert not isinstance(node.get("type"), list), where  # 3.0 has no type lists
            if isinstance(node.get("items"), dict) and not where.endswith(".properties"):  # a schema, not a map
                assert node.get("type") == "array", where  # `items` only beside type array (in anyOf too)
            for key, value in node.items():
                walk(value, f"{where}.{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}.{i}")

    walk(doc, "doc")
    patch = doc["paths"]["/api/v1/applications/{app_id}"]["patch"]["requestBody"]["content"]["application/json"]
    lines = patch["schema"]["properties"]["budget_lines"]
    assert lines["maxItems"] == 200 and lines["items"]["properties"]["description"]["maxLength"] == 500
    assert lines["items"]["properties"]["organization_id"]["maximum"] == 2**31 - 1
    upload = doc["paths"]["/api/v1/applications/{app_id}/attachments"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in upload
    report = doc["paths"]["/api/v1/awards/{award_id}/reports"]["post"]["requestBody"]["content"]["application/json"]
    assert [b["type"] for b in report["schema"]["properties"]["indicators"]["anyOf"]] == ["array", "object"]
    org_patch = doc["paths"]["/api/v1/organizations/{org_id}"]["patch"]["requestBody"]["content"]["application/json"]
    assert "required" not in org_patch["schema"]  # a PATCH sends only what changes


@pytest.mark.parametrize(
    ("schema", "value", "errors"),
    [
        ({"type": "object", "properties": {"a": ID}}, {"a": 2**31}, {"a"}),
        ({"type": "object", "properties": {"a": ID}}, {"a": True}, {"a"}),
        ({"type": "object", "properties": {"a": ID}}, {"a": 1.0}, {"a"}),
        ({"type": "object", "properties": {"a": text(3)}}, {"a": "abcd"}, {"a"}),
        ({"type": "object", "properties": {"a": text(3)}}, {"a": {}}, {"a"}),
        ({"type": "object", "required": ["a"], "properties": {"a": text(3)}}, {}, {"a"}),
        ({"type": "object", "properties": {"r": {"type": "array", "items": {"type": "object"}}}}, {"r": [1, 2]},
         {"r.0", "r.1"}),
        ({"type": "object", "properties": {"n": {"type": "integer"}}}, {"n": 10**30}, {"n"}),
        ({"type": "object", "properties": {"d": {"type": "string", "format": "date"}}}, {"d": "2027-02-30"}, {"d"}),
        ({"type": "object"}, [], {"body"}),
    ],
)  # fmt: skip
def test_check_refuses_each_kind_of_bad_value_by_its_field(app, schema, value, errors):
    found: dict = {}
    check(schema, value, "", found)
    assert set(found) == errors


def test_check_keeps_only_declared_keys(app):
    found: dict = {}
    cleaned = check({"type": "object", "properties": {"a": text(5)}}, {"a": "x", "sneaky": 1}, "", found)
    assert cleaned == {"a": "x"} and found == {}
