"""GitHub's own descriptions of its API, as the test fake is held to them.

`github-schema.graphql` is GitHub's GraphQL schema and `github-openapi.json` the REST operations the client
calls, from GitHub's OpenAPI description (both from npm; `SOURCES.json` names versions and date;
`python -m tests.contract.refresh` renews them). The fake executes every GraphQL query against the schema and
checks every REST request and answer against the description, so a field, path, parameter or payload shape
GitHub does not have cannot pass a test.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    build_schema,
    execute_sync,
    parse,
    specified_rules,
    validate,
)
from graphql.type import validate_schema
from graphql.validation import NoDeprecatedCustomRule
from openapi_schema_validator import OAS30Validator

HERE = Path(__file__).parent
SOURCES = json.loads((HERE / "SOURCES.json").read_text())

# GitHub deprecates fields of types whose interface keeps them (`PullRequestReview.databaseId`, while
# `Reactable.databaseId` is not): graphql-js rejects such a schema, GitHub serves it. That is the one rule the
# published schema breaks; any other schema error still fails.
_GITHUB_DEVIATION = re.compile(
    r"Interface field \S+ is not deprecated, so implementation field \S+ must not be deprecated\."
)


@functools.cache
def graphql_schema() -> GraphQLSchema:
    schema = build_schema((HERE / "github-schema.graphql").read_text(), assume_valid_sdl=True)
    errors = [error.message for error in validate_schema(schema) if not _GITHUB_DEVIATION.fullmatch(error.message)]
    if errors:
        raise TypeError("GitHub's schema copy does not validate: " + "; ".join(errors[:5]))
    schema._validation_errors = []  # checked above: only GitHub's known deviation
    return schema


def document_errors(query: str) -> list[str]:
    """Why GitHub would refuse this document: unknown fields or arguments, wrong types, or a deprecated field."""
    return list(_checked(query)[1])


@functools.lru_cache(maxsize=64)
def _checked(query: str) -> tuple[DocumentNode | None, tuple[str, ...]]:
    """The document parsed and validated against GitHub's schema, once per query text (the app sends a few
    texts many times with other variables)."""
    try:
        document = parse(query)
    except GraphQLError as error:
        return None, (error.message,)
    errors = validate(graphql_schema(), document, [*specified_rules, NoDeprecatedCustomRule])
    return document, tuple(error.message for error in errors)


def not_found(node_id: str) -> GraphQLError:
    """GitHub's error for an id `nodes(ids:)` cannot resolve (that list entry comes back null)."""
    return GraphQLError(
        f"Could not resolve to a node with the global id of '{node_id}'.", extensions={"type": "NOT_FOUND"}
    )


def execute(query: str, variables: dict, root: dict) -> dict:
    """The query run against GitHub's schema over `root` (dicts, with callables for fields that take
    arguments), answered as GitHub does: `data` beside `errors`, each error's `type` at its top level."""
    document, problems = _checked(query)
    if problems:
        return {"errors": [{"message": message} for message in problems]}
    result = execute_sync(graphql_schema(), document, root_value=root, variable_values=variables)
    answer: dict = {"data": result.data}
    if result.errors:
        answer["errors"] = []
        for error in result.errors:
            shaped = error.formatted
            kind = (shaped.pop("extensions", None) or {}).get("type")
            answer["errors"].append({**({"type": kind} if kind else {}), **shaped})
    return answer


# --- REST -------------------------------------------------------------------------------------------------


# Where GitHub serves what its description forbids, seen in recorded answers (../shared/github-payloads): the
# description is corrected here, the copy stays as published. (schema, property, evidence)
CORRECTIONS = (("issue-search-result-item", "body", "an issue without a body: issuelist_octokit-fixtures_2022.json"),)


def _nullable_enums_allow_null(node) -> None:
    """OpenAPI 3.0's `nullable: true` admits null; beside an `enum` the validator wants null listed as well."""
    if isinstance(node, dict):
        if node.get("nullable") and isinstance(node.get("enum"), list) and None not in node["enum"]:
            node["enum"].append(None)
        for value in node.values():
            _nullable_enums_allow_null(value)
    elif isinstance(node, list):
        for value in node:
            _nullable_enums_allow_null(value)


@functools.cache
def openapi() -> dict:
    description = json.loads((HERE / "github-openapi.json").read_text())
    for schema, prop, _evidence in CORRECTIONS:
        description["components"]["schemas"][schema]["properties"][prop]["nullable"] = True
    _nullable_enums_allow_null(description)
    return description


def example(name: str):
    """One of the description's own example payloads (a fresh copy)."""
    return json.loads(json.dumps(openapi()["components"]["examples"][name]["value"]))


@functools.cache
def _templates() -> list[tuple[re.Pattern, str]]:
    found = []
    for template in openapi()["paths"]:
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
        found.append((re.compile(pattern + "$"), template))
    return found


def template_of(path: str) -> str | None:
    """The description's path template a request path falls under."""
    # GitHub answers a transferred issue's old URL with `/repositories/{id}/...`: the same operations by id.
    path = re.sub(r"^/repositories/\d+/", "/repos/OWNER/REPO/", path)
    return next((template for pattern, template in _templates() if pattern.match(path)), None)


def _resolve(node: dict) -> dict:
    while "$ref" in node:
        _, _, kind, name = node["$ref"].split("/", 3)
        node = openapi()["components"][kind][name]
    return node


def request_errors(method: str, path: str, query: dict) -> list[str]:
    """Why GitHub's description does not know this request: no such path, method or query parameter."""
    template = template_of(path)
    if template is None:
        return [f"{method} {path}: no such path in GitHub's OpenAPI description"]
    operation = openapi()["paths"][template].get(method.lower())
    if operation is None:
        return [f"{method} {template}: GitHub's description has no such operation"]
    known = {p["name"] for p in map(_resolve, operation.get("parameters", [])) if p["in"] == "query"}
    return [f"{method} {template}: no query parameter {name!r}" for name in sorted(set(query) - known)]


@functools.cache
def _validator(template: str, method: str, status: str) -> OAS30Validator | None:
    responses = openapi()["paths"][template][method]["responses"]
    response = _resolve(responses.get(status) or {})
    schema = (response.get("content") or {}).get("application/json", {}).get("schema")
    if schema is None:
        return None
    document = {**schema, "components": openapi()["components"]}
    return OAS30Validator(document)


def response_errors(method: str, path: str, status: int, body) -> list[str]:
    """Where a successful answer departs from the response schema GitHub publishes for that operation and status
    (a success status it does not document is one). Error answers share GitHub's generic shape and are not
    checked."""
    template = template_of(path)
    if template is None or method.lower() not in openapi()["paths"][template] or not 200 <= status < 400:
        return []
    if status == 304:  # any conditional GET may answer 304, with no body
        return []
    responses = openapi()["paths"][template][method.lower()]["responses"]
    if str(status) not in responses:
        return [f"{method} {template}: GitHub documents no {status} answer ({', '.join(responses)})"]
    validator = _validator(template, method.lower(), str(status))
    if validator is None or body is None:
        return []
    return [
        f"{method} {template} {status} at {'/'.join(map(str, error.absolute_path)) or 'the top'}: {error.message[:300]}"
        for error in list(validator.iter_errors(body))[:3]
    ]
