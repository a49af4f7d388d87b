"""Tests for scenarios.lab.openapi: the control API's OpenAPI document and the routes cannot drift apart."""

from __future__ import annotations

from scenarios.lab.control import ROUTES
from scenarios.lab.openapi import FAIL_MODES, document, operations
from sim.cic.paging import DEFAULT_LIMIT, MAX_LIMIT, PARAMETERS
from sim.cic.pair import FAULT_MODES


def test_every_route_is_documented_and_nothing_else() -> None:
    """The document names exactly the (method, path) pairs the control API serves."""
    assert {(method, path) for method, path, _ in ROUTES} == operations()


def test_document_is_openapi_31_with_a_summary_per_operation() -> None:
    """The document is OpenAPI 3.1 and every operation has a summary and a 2xx answer."""
    doc = document("http://127.0.0.1:1")
    assert doc["openapi"] == "3.1.0"
    assert doc["servers"] == [{"url": "http://127.0.0.1:1"}]
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            assert op["summary"], (method, path)
            assert any(code.startswith("2") for code in op["responses"]), (method, path)


def test_error_answers_refer_to_the_error_schema() -> None:
    """Every 4xx/5xx answer documented is the {"error": ...} schema."""
    doc = document()
    assert "servers" not in doc
    assert doc["components"]["schemas"]["Error"]["required"] == ["error"]
    for ops in doc["paths"].values():
        for op in ops.values():
            for code, answer in op["responses"].items():
                if code[0] in "45":
                    assert answer["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


def test_fail_modes_are_the_pairs() -> None:
    """The fault modes documented and checked by the control API are those the pair runtime accepts."""
    assert set(FAULT_MODES) == set(FAIL_MODES)
    fail = document()["paths"]["/_smslab/nodes/{name}/fail"]["post"]
    assert fail["requestBody"]["content"]["application/json"]["schema"]["properties"]["mode"]["enum"] == list(FAIL_MODES)


def test_interactions_document_the_paging_query_the_next_field_and_the_400() -> None:
    """GET /_smslab/interactions names every parameter sim.cic.paging checks, with its bounds, and the page's shape."""
    op = document()["paths"]["/_smslab/interactions"]["get"]
    params = {p["name"]: (p["in"], p["required"], p["schema"]) for p in op["parameters"]}
    assert {
        "limit": ("query", False, {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}),
        "cursor": ("query", False, {"type": "string"}),
        "customer": ("query", False, {"type": "string"}),
        "state": ("query", False, {"type": "string", "enum": ["active", "idle", "disconnected"]}),
        "since": ("query", False, {"type": "number"}),
    } == params
    assert list(PARAMETERS) == [p["name"] for p in op["parameters"]]
    assert ["200", "400", "501", "503"] == sorted(op["responses"])
    page = op["responses"]["200"]["content"]["application/json"]["schema"]
    assert (["interactions", "next"], {"type": ["string", "null"]}, {"$ref": "#/components/schemas/Interaction"}) == (
        page["required"], {"type": page["properties"]["next"]["type"]}, page["properties"]["interactions"]["items"])
    assert ["broker", "created_at", "customer", "deliveries", "destination", "id", "local", "state", "transcript",
            "updated_at"] == sorted(document()["components"]["schemas"]["Interaction"]["required"])
