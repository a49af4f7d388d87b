"""Tests for scenarios.lab.openapi: the control API's OpenAPI document and the routes cannot drift apart."""

from __future__ import annotations

from scenarios.lab.control import ROUTES
from scenarios.lab.openapi import FAIL_MODES, document, operations
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
