"""Refresh the copies of GitHub's published API descriptions that the test fake is held to.

    python -m tests.contract.refresh

Downloads the npm packages `@octokit/graphql-schema` (GitHub's GraphQL schema) and `@octokit/openapi` (which
republishes github/rest-api-description) with `npm pack`, then writes beside this file:
- `github-schema.graphql`: the schema as published;
- `github-openapi.json`: the operations of the REST paths the client calls (`CLIENT_PATHS`), with every
  component they reference, from `generated/api.github.com.json` (the whole description is 13 MB);
- `webhooks-examples.json`: the example deliveries of `@octokit/webhooks-examples` for the events the webhook
  consumer handles (`WEBHOOK_EVENTS`), as GitHub documents them;
- `SOURCES.json`: package, version and date of each copy.
A path added to the client must be added to `CLIENT_PATHS` and this script run again, or the fake refuses it.
"""

from __future__ import annotations

import json
import subprocess
import tarfile
import tempfile
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).parent
SCHEMA_PACKAGE = "@octokit/graphql-schema"
OPENAPI_PACKAGE = "@octokit/openapi"
WEBHOOKS_PACKAGE = "@octokit/webhooks-examples"
WEBHOOK_EVENTS = (
    "ping",
    "issues",
    "pull_request",
    "issue_comment",
    "pull_request_review",
    "member",
    "organization",
    "repository",
)
CLIENT_PATHS = (
    "/search/issues",
    "/orgs/{org}/repos",
    "/orgs/{org}/members",
    "/repos/{owner}/{repo}",
    "/repos/{owner}/{repo}/issues/events",
    "/repos/{owner}/{repo}/issues/comments",
    "/repos/{owner}/{repo}/issues/comments/{comment_id}",
    "/repos/{owner}/{repo}/issues/{issue_number}",
    "/repos/{owner}/{repo}/issues/{issue_number}/timeline",
    "/repos/{owner}/{repo}/pulls/{pull_number}/reviews",
    "/orgs/{org}/installation",
    "/app/installations/{installation_id}/access_tokens",
    "/app/hook/deliveries",
    "/app/hook/deliveries/{delivery_id}/attempts",
    "/orgs/{org}/hooks/{hook_id}/deliveries",
    "/orgs/{org}/hooks/{hook_id}/deliveries/{delivery_id}/attempts",
)


def npm_pack(package: str, into: Path) -> tuple[str, Path]:
    """The package's version and the folder its tarball unpacked to."""
    listed = subprocess.run(
        ["npm", "pack", package, "--json", "--pack-destination", str(into)], check=True, capture_output=True, text=True
    )
    packed = json.loads(listed.stdout)[0]
    folder = into / packed["name"].replace("/", "_")
    with tarfile.open(into / packed["filename"]) as tar:
        tar.extractall(folder, filter="data")
    return packed["version"], folder / "package"


def _refs(node) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        return found.union(*(_refs(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(_refs(value) for value in node))
    return set()


def trimmed_openapi(description: dict) -> dict:
    """The description cut down to CLIENT_PATHS and the components they reach."""
    paths = {path: description["paths"][path] for path in CLIENT_PATHS}
    components: dict[str, dict] = {}
    pending = _refs(paths)
    while pending:
        ref = pending.pop()
        _, _, kind, name = ref.split("/", 3)
        if name in components.get(kind, {}):
            continue
        value = description["components"][kind][name]
        components.setdefault(kind, {})[name] = value
        pending |= _refs(value)
    return {
        "openapi": description["openapi"],
        "info": description["info"],
        "servers": description.get("servers", []),
        "paths": paths,
        "components": {kind: dict(sorted(named.items())) for kind, named in sorted(components.items())},
    }


def main() -> None:
    today = datetime.now(UTC).date().isoformat()
    with tempfile.TemporaryDirectory() as scratch:
        schema_version, schema_dir = npm_pack(SCHEMA_PACKAGE, Path(scratch))
        openapi_version, openapi_dir = npm_pack(OPENAPI_PACKAGE, Path(scratch))
        (HERE / "github-schema.graphql").write_text((schema_dir / "schema.graphql").read_text())
        description = json.loads((openapi_dir / "generated" / "api.github.com.json").read_text())
        (HERE / "github-openapi.json").write_text(json.dumps(trimmed_openapi(description), indent=1) + "\n")
        webhooks_version, webhooks_dir = npm_pack(WEBHOOKS_PACKAGE, Path(scratch))
        examples = json.loads((webhooks_dir / "api.github.com" / "index.json").read_text())
        kept = {entry["name"]: entry["examples"] for entry in examples if entry["name"] in WEBHOOK_EVENTS}
        (HERE / "webhooks-examples.json").write_text(json.dumps(kept, indent=1, sort_keys=True) + "\n")
    sources = {
        "github-schema.graphql": {"package": SCHEMA_PACKAGE, "version": schema_version, "file": "schema.graphql"},
        "github-openapi.json": {
            "package": OPENAPI_PACKAGE,
            "version": openapi_version,
            "file": "generated/api.github.com.json",
            "kept": "the operations of CLIENT_PATHS and the components they reference",
        },
        "webhooks-examples.json": {
            "package": WEBHOOKS_PACKAGE,
            "version": webhooks_version,
            "file": "api.github.com/index.json",
            "kept": "the examples of WEBHOOK_EVENTS, by event name",
        },
        "refreshed": today,
        "by": "python -m tests.contract.refresh",
    }
    (HERE / "SOURCES.json").write_text(json.dumps(sources, indent=2) + "\n")
    print(
        f"{SCHEMA_PACKAGE} {schema_version}, {OPENAPI_PACKAGE} {openapi_version}, {WEBHOOKS_PACKAGE} "
        f"{webhooks_version}, refreshed {today}"
    )


if __name__ == "__main__":
    main()
