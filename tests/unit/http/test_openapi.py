"""``/openapi.json`` describes what the routes do: bodies, every answer, the error body, headers."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator

from refgen.contract.bodies import BODY_FIELDS, BODY_MODELS, EXAMPLES
from refgen.domain import TaskKind
from tests.conftest import Server
from tests.images import data_url, picture

CONTRACT = ("/ent/v2/reference2video", "/ent/v2/reference2image")


@pytest.fixture
def spec(idle_server: Server) -> dict[str, Any]:
    response = idle_server.client.get("/openapi.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, item in spec["paths"].items() for method, op in item.items()]


def test_openapi_documents_errors_with_the_error_body_and_no_422(spec: dict[str, Any]) -> None:
    error = {"$ref": "#/components/schemas/ErrorBody"}
    for path, method, op in operations(spec):
        responses = op["responses"]
        assert "422" not in responses, (path, method)
        assert responses["500"]["content"]["application/json"]["schema"] == error, (path, method)
        for status, response in responses.items():
            assert "X-Trace-Id" in response["headers"], (path, method, status)
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    required = set(spec["components"]["schemas"]["ErrorBody"]["required"])
    assert required == {"code", "reason", "message", "metadata"}


def test_openapi_lists_the_answers_each_route_can_give(spec: dict[str, Any]) -> None:
    statuses = {(path, method): set(op["responses"]) for path, method, op in operations(spec)}
    for kind in TaskKind:
        path = f"/ent/v2/{kind.value}"
        assert statuses[(path, "post")] == {"200", "400", "401", "409", "413", "429", "500"}
        too_many = spec["paths"][path]["post"]["responses"]["429"]
        assert too_many["headers"]["Retry-After"]["schema"] == {"type": "integer", "minimum": 0}
        assert too_many["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorBody"}
    assert statuses[("/ent/v2/tasks/{task_id}/creations", "get")] == {"200", "401", "404", "500"}
    assert statuses[("/ent/v2/tasks/{task_id}/cancel", "post")] == {"200", "400", "401", "404", "413", "500"}
    assert statuses[("/ent/v2/tasks", "get")] == {"200", "400", "401", "500"}
    assert statuses[("/ent/v2/credits", "get")] == {"200", "400", "401", "500"}
    assert statuses[("/readyz", "get")] == {"200", "503", "500"}
    assert statuses[("/files/{key}", "get")] == {"200", "403", "404", "500"}


def test_openapi_every_create_route_takes_an_optional_idempotency_key(spec: dict[str, Any]) -> None:
    for kind in TaskKind:
        operation = spec["paths"][f"/ent/v2/{kind.value}"]["post"]
        headers = [p for p in operation.get("parameters", []) if p["in"] == "header"]
        assert [p["name"] for p in headers] == ["Idempotency-Key"], kind
        assert headers[0]["required"] is False
        schema = headers[0]["schema"]
        assert schema["maxLength"] == 255 and schema["minLength"] == 1
        conflict = operation["responses"]["409"]["content"]["application/json"]["schema"]
        assert conflict == {"$ref": "#/components/schemas/ErrorBody"}
    cancel = spec["paths"]["/ent/v2/tasks/{task_id}/cancel"]["post"]
    assert all(p["name"] != "Idempotency-Key" for p in cancel.get("parameters", []))


@pytest.mark.parametrize("kind", list(BODY_FIELDS))
def test_openapi_create_body_is_the_body_model_with_its_example(spec: dict[str, Any], kind: TaskKind) -> None:
    body = spec["paths"][f"/ent/v2/{kind.value}"]["post"]["requestBody"]
    assert body["required"] is True
    content = body["content"]["application/json"]
    assert content["schema"] == BODY_MODELS[kind].model_json_schema()
    assert content["schema"]["additionalProperties"] is True
    assert content["example"] == EXAMPLES[kind]
    links = spec["paths"][f"/ent/v2/{kind.value}"]["post"]["responses"]["200"]["links"]
    assert {link["operationId"] for link in links.values()} == {"get_generation", "cancel_task"}


@pytest.mark.parametrize("kind", list(BODY_FIELDS))
def test_openapi_create_example_is_accepted(
    idle_server: Server, spec: dict[str, Any], kind: TaskKind
) -> None:
    path = f"/ent/v2/{kind.value}"
    response = idle_server.client.post(path, json=EXAMPLES[kind], headers=idle_server.auth)
    assert response.status_code == 200, response.json()
    answer = spec["paths"][path]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    resolved = {**answer, "$defs": spec["components"]["schemas"]}
    validator = Draft202012Validator(_local_refs(resolved))
    validator.validate(response.json())


def _local_refs(schema: Any) -> Any:
    """Point ``#/components/schemas/X`` at ``#/$defs/X`` so the schema validates on its own."""
    if isinstance(schema, dict):
        return {
            k: (v.replace("#/components/schemas/", "#/$defs/") if k == "$ref" else _local_refs(v))
            for k, v in schema.items()
        }
    if isinstance(schema, list):
        return [_local_refs(v) for v in schema]
    return schema


def test_openapi_answers_match_their_schemas(idle_server: Server, spec: dict[str, Any]) -> None:
    task = idle_server.client.post(
        "/ent/v2/reference2video",
        json={"model": "vidu2.0", "images": [data_url(picture())], "prompt": "p"},
        headers=idle_server.auth,
    ).json()["task_id"]
    calls = {
        ("/ent/v2/tasks/{task_id}/creations", "get", "200"): idle_server.client.get(
            f"/ent/v2/tasks/{task}/creations", headers=idle_server.auth
        ),
        ("/ent/v2/tasks", "get", "200"): idle_server.client.get("/ent/v2/tasks", headers=idle_server.auth),
        ("/ent/v2/tasks", "get", "400"): idle_server.client.get(
            "/ent/v2/tasks", params={"limit": "x"}, headers=idle_server.auth
        ),
        ("/ent/v2/tasks/{task_id}/creations", "get", "404"): idle_server.client.get(
            "/ent/v2/tasks/nope/creations", headers=idle_server.auth
        ),
        ("/ent/v2/tasks/{task_id}/cancel", "post", "200"): idle_server.client.post(
            f"/ent/v2/tasks/{task}/cancel", headers=idle_server.auth
        ),
        ("/healthz", "get", "200"): idle_server.client.get("/healthz"),
    }
    for (path, method, status), response in calls.items():
        assert str(response.status_code) == status, (path, response.json())
        declared = spec["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]
        schema = _local_refs({**declared, "$defs": spec["components"]["schemas"]})
        Draft202012Validator(schema).validate(response.json())


def test_openapi_method_not_allowed_carries_allow(idle_server: Server) -> None:
    response = idle_server.client.delete("/ent/v2/reference2video", headers=idle_server.auth)
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"
    assert response.json()["code"] == 405 and response.headers["X-Trace-Id"]


def test_openapi_task_list_and_credits_parameters_and_answers(spec: dict[str, Any]) -> None:
    listing = spec["paths"]["/ent/v2/tasks"]["get"]
    names = {p["name"] for p in listing["parameters"]}
    assert names == {
        "created_at.from",
        "created_at.to",
        "task_ids",
        "task_ids[]",
        "states",
        "model_versions",
        "resolutions",
        "templates",
        "paper.page",
        "pager.page",
        "paper.pagesz",
        "pager.pagesz",
        "limit",
        "pager.page_token",
    }
    schemas = spec["components"]["schemas"]
    assert set(schemas["TaskList"]["required"]) == {"tasks", "next_page_token"}
    assert set(schemas["TaskListItem"]["properties"]["type"]["enum"]) == {k.value for k in TaskKind}
    credits = spec["paths"]["/ent/v2/credits"]["get"]
    assert [p["name"] for p in credits["parameters"]] == ["show_detail"]
    assert set(schemas["Credits"]["required"]) == {"remains", "remaining_credits", "packages"}
