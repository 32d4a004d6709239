"""The OpenAPI schema: generated without a warning, valid, and with a declared
type for every request and response body (no bare `object`, no `{}`)."""

import io

import pytest
from django.core.management import call_command

from tests.api.test_schemathesis import RAW_SCHEMA

COMBINATORS = ("$ref", "oneOf", "anyOf", "allOf", "enum")


def untyped(schema: dict, where: str, components: dict, seen: set) -> list[str]:
    """Where `schema` (or anything inside it) leaves a value's shape open: an
    object without properties or typed additionalProperties, or no type at all."""
    if not isinstance(schema, dict):
        return [f"{where}: not a schema"]
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in seen:
            return []
        seen.add(name)
        return untyped(components[name], f"#/components/schemas/{name}", components, seen)
    found = []
    for key in ("oneOf", "anyOf", "allOf"):
        for k, sub in enumerate(schema.get(key, [])):
            found += untyped(sub, f"{where}/{key}/{k}", components, seen)
    if any(k in schema for k in COMBINATORS):
        return found
    kind = schema.get("type")
    if kind is None:
        return [f"{where}: no type"]
    if kind == "array":
        return found + untyped(schema.get("items", {}), f"{where}/items", components, seen)
    if kind == "object":
        extra = schema.get("additionalProperties")
        if not schema.get("properties") and not isinstance(extra, dict):
            return found + [f"{where}: an object with no properties"]
        if isinstance(extra, dict):
            found += untyped(extra, f"{where}/additionalProperties", components, seen)
        for name, sub in schema.get("properties", {}).items():
            found += untyped(sub, f"{where}/{name}", components, seen)
    return found


def bodies(schema: dict):
    """(where, schema) of every JSON request and response body of every operation."""
    for path, item in schema["paths"].items():
        for method, op in item.items():
            if method not in ("get", "put", "post", "patch", "delete"):
                continue
            places = [("request", op.get("requestBody", {}))]
            places += [(f"response {code}", r) for code, r in op.get("responses", {}).items()]
            for place, spec in places:
                for media, content in spec.get("content", {}).items():
                    if "json" in media or media.startswith("multipart/") or "form" in media:
                        yield f"{method.upper()} {path} {place} {media}", content.get("schema")


def test_spectacular_validates_without_a_warning(tmp_path):
    out = tmp_path / "schema.yml"
    call_command("spectacular", "--fail-on-warn", "--validate", "--file", str(out), stderr=io.StringIO())
    assert out.stat().st_size > 10_000


def test_every_json_body_of_every_operation_is_typed():
    components = RAW_SCHEMA["components"]["schemas"]
    problems = []
    n = 0
    for where, schema in bodies(RAW_SCHEMA):
        n += 1
        if schema is None:
            problems.append(f"{where}: no schema")
            continue
        problems += [f"{where} -> {p}" for p in untyped(schema, where, components, set())]
    assert n > 60
    assert not problems, "\n".join(sorted(set(problems)))


def test_every_error_response_has_the_one_shape():
    """Every 4xx body declared in the schema is (a subtype of) Error: detail and code."""
    components = RAW_SCHEMA["components"]["schemas"]
    wrong = []
    for where, schema in bodies(RAW_SCHEMA):
        if " response 4" not in where:
            continue
        resolved = components[schema["$ref"].rsplit("/", 1)[-1]] if "$ref" in schema else schema
        props = resolved.get("properties", {})
        if not {"detail", "code"} <= set(props) or not {"detail", "code"} <= set(resolved.get("required", [])):
            wrong.append(where)
    assert not wrong, wrong


@pytest.mark.parametrize(
    "planted, expected",
    [
        ({"type": "object"}, ["x: an object with no properties"]),
        ({"type": "object", "additionalProperties": True}, ["x: an object with no properties"]),
        ({}, ["x: no type"]),
        ({"type": "array", "items": {}}, ["x/items: no type"]),
        ({"type": "object", "properties": {"a": {"type": "object"}}}, ["x/a: an object with no properties"]),
        ({"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}}, []),
        ({"oneOf": [{"type": "string"}, {"type": "object"}]}, ["x/oneOf/1: an object with no properties"]),
    ],
)
def test_the_walk_finds_an_untyped_body(planted, expected):
    assert untyped(planted, "x", {}, set()) == expected


def test_every_api_route_is_in_the_fuzzed_schema():
    """tests/api/test_schemathesis.py fuzzes every operation of the schema; every
    DRF view under /api/ (v1, the labeling endpoints, the leaderboard) is in it."""
    from django.urls import get_resolver
    from rest_framework.views import APIView

    def routes(patterns, prefix=""):
        for p in patterns:
            if hasattr(p, "url_patterns"):
                yield from routes(p.url_patterns, prefix + str(p.pattern))
            else:
                yield prefix + str(p.pattern), getattr(p.callback, "cls", None)

    def as_openapi(route: str) -> str:
        import re

        # drf-spectacular names a `pk` parameter `id`
        return "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route).replace("{pk}", "{id}")

    api = {
        as_openapi(r)
        for r, cls in routes(get_resolver().url_patterns)
        if r.startswith("api/") and cls is not None and issubclass(cls, APIView)
    }
    assert len(api) >= 20
    assert api - {"/api/v1/docs/", "/api/v1/redoc/"} <= set(RAW_SCHEMA["paths"])
