"""An in-memory GitHub that answers the REST and GraphQL calls the app makes, with GitHub's real rules.

Search understands the qualifiers the app sends, serves 100 per page and only the first 1,000 results (page 11
answers 422); list endpoints paginate with Link headers; timelines carry ETags and answer 304; a transferred
issue's old URL answers 301. It plugs into `responses` (tests) or an HTTP server on 127.0.0.1 (benchmarks).

It is held to GitHub's published descriptions (`tests/contract`): GraphQL queries are executed against GitHub's
schema (an unknown or deprecated field fails as on github.com, an id past 2^31 in an `Int` field fails as it
does there), and every REST request and answer is checked against the OpenAPI description, departures landing
in `contract_violations`, which the tests' fixture requires to be empty.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlencode, urlsplit

from tests import contract
from tests.fake.payloads import _graphql_review, item, served, ts

SEARCH_CAP = 1000
DOCS = "https://docs.github.com/rest"


@functools.lru_cache(maxsize=200_000)
def _parse_time(text: str) -> datetime:
    if len(text) == 10:
        text += "T00:00:00Z"
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


@dataclass
class FakeGitHub:
    api: str = "https://api.github.test"
    org: str = "acme"
    items: dict[int, dict] = field(default_factory=dict)
    members: list[dict] = field(default_factory=list)
    repos: list[dict] = field(
        default_factory=lambda: [{"name": "widgets", "archived": False}, {"name": "gadgets", "archived": False}]
    )
    timelines: dict[int, list[dict]] = field(default_factory=dict)
    moved: dict[str, str] = field(default_factory=dict)
    moved_targets: dict[str, int] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)
    failures: list[tuple[str, int]] = field(default_factory=list)
    requests: Counter = field(default_factory=Counter)
    log: list[str] = field(default_factory=list)
    search_remaining: int | None = None
    core_exhausted_until: float | None = None
    core_remaining: int | None = None  # core requests left this hour (resetting in an hour), as GitHub's headers say
    rate_limit: int = 5000  # the hourly limit the headers name (12,500 for a large org's App installation)
    failure_message: str = ""
    _walks: dict = field(default_factory=dict, repr=False)
    _by_number: dict = field(default_factory=dict, repr=False)
    incomplete_searches: int = 0  # the next N searches answer incomplete_results: true (-1: all of them)
    on_request: object = None
    graphql_rate_limited: int = 0  # the next N GraphQL queries answer RATE_LIMITED (reset in `graphql_reset_in` s)
    graphql_reset_in: int = 30
    graphql_node_errors: dict[str, str] = field(default_factory=dict)  # node id -> error type (FORBIDDEN...)
    listing_depth_limit: dict[str, int] = field(default_factory=dict)  # repo -> last page a listing serves
    listing_without_next: dict[str, int] = field(default_factory=dict)  # repo -> page served with no rel="next"
    listing_out_of_order: set[str] = field(default_factory=set)  # repos whose issue events come oldest first
    hidden_from_listings: set[int] = field(default_factory=set)  # event ids only the timelines show
    unindexed: set[int] = field(default_factory=set)  # items search does not find yet (it indexes with a lag)
    contract_violations: list[str] = field(default_factory=list)
    contract_sample: int | None = None  # check only the first N answers per operation and status (benchmarks)
    app: object = None  # a FakeApp: then every request needs its installation token (App endpoints, the JWT)
    org_hook: object = None  # a HookLog: the org webhook `org_hook_id`'s deliveries
    org_hook_id: int = 77
    _contract_seen: Counter = field(default_factory=Counter, repr=False)
    _edits: int = field(default=0, repr=False)  # items added or removed, so the per-repo index knows it is stale
    _repo_index: tuple = field(default=(None, {}), repr=False)

    # --- building the scenario -------------------------------------------------------------------------------
    def add(self, payload: dict) -> dict:
        self.items[payload["id"]] = payload
        self._edits += 1
        return payload

    def new_item(self, repo: str, number: int, **kwargs) -> dict:
        kwargs.setdefault("item_id", 10_000 * (len(repo) + 1) + number)
        return self.add(item(self.api, self.org, repo, number, **kwargs))

    def transfer(self, old: dict, new_repo: str, new_number: int, new_id: int, *, by_id: bool = False) -> dict:
        """Move an issue: the old URL answers 301, search forgets the old item and finds the new one."""
        del self.items[old["id"]]
        self._edits += 1
        new = dict(old, id=new_id, number=new_number, node_id=f"I_{new_id}", updated_at=ts(datetime.now(UTC)))
        new_url = f"{self.api}/repos/{self.org}/{new_repo}/issues/{new_number}"
        new.update(
            url=new_url,
            repository_url=f"{self.api}/repos/{self.org}/{new_repo}",
            html_url=f"https://github.com/{self.org}/{new_repo}/issues/{new_number}",
            timeline_url=new_url + "/timeline",
        )
        self.add(new)
        if old["id"] in self.timelines:
            self.timelines[new_id] = self.timelines[old["id"]]
        location = f"{self.api}/repositories/{900 + len(new_repo)}/issues/{new_number}" if by_id else new_url
        self.moved[old["url"]] = location
        self.moved_targets[location] = new_id
        return new

    def delete(self, payload: dict) -> None:
        del self.items[payload["id"]]
        self._edits += 1
        self.deleted.add(payload["url"])

    def fail_next(self, path_fragment: str, status: int) -> None:
        """The next request whose URL contains `path_fragment` answers `status`."""
        self.failures.append((path_fragment, status))

    # --- answering ---------------------------------------------------------------------------------------------
    def handle(self, method: str, url: str, headers: dict, body: str = "") -> tuple[int, dict, str]:
        parts = urlsplit(url)
        path, query = parts.path, {k: v[-1] for k, v in parse_qs(parts.query).items()}
        self.log.append(f"{method} {path}?{parts.query}")
        if self.on_request:
            self.on_request(path)
        for index, (fragment, status) in enumerate(self.failures):
            if fragment in url:
                del self.failures[index]
                self.requests["failed"] += 1
                return status, {}, json.dumps({"message": self.failure_message or f"fake failure {status}"})
        if path == "/graphql":
            refused = self.app.answer(method, path, headers) if self.app else None
            return refused or self._answer(method, url, path, query, headers, body)
        self.contract_violations += contract.request_errors(method, path, query)
        refused_or_app = self.app.answer(method, path, headers, query) if self.app else None
        status, answer_headers, answer = refused_or_app or self._answer(method, url, path, query, headers, body)
        key = (contract.template_of(path), status)
        self._contract_seen[key] += 1
        if self.contract_sample is None or self._contract_seen[key] <= self.contract_sample:
            data = json.loads(answer) if answer else None
            self.contract_violations += contract.response_errors(method, path, status, data)
        return status, answer_headers, answer

    def _answer(self, method: str, url: str, path: str, query: dict, headers: dict, body: str) -> tuple[int, dict, str]:
        if path == "/search/issues":
            self.requests["search"] += 1
            return self._search(query)
        if path == "/graphql" and method == "POST":
            self.requests["graphql"] += 1
            return self._graphql(json.loads(body or "{}"))
        self.requests["core"] += 1
        if self.core_remaining is not None:
            self.core_remaining = max(0, self.core_remaining - 1)
        if path == f"/orgs/{self.org}/members":
            return self._conditional(headers, *self._list(path, query, self.members))
        hook = f"/orgs/{self.org}/hooks/{self.org_hook_id}"
        if self.org_hook is not None and path.startswith(hook + "/deliveries"):
            status, answer = self.org_hook.answer(method, path.removeprefix(hook), query)
            return status, self._headers("core"), json.dumps(answer)
        if path == f"/orgs/{self.org}/repos":
            listed = [self.repository(repo, minimal=True) for repo in self.repos]
            return self._conditional(headers, *self._list(path, query, listed))
        repo_match = re.fullmatch(r"/repos/([^/]+)/([^/]+)", path)
        if repo_match:
            return self._repo(repo_match.group(1), repo_match.group(2))
        match = re.fullmatch(r"/repos/([^/]+)/([^/]+)/issues/(\d+)/timeline", path)
        if match:
            return self._timeline(url, match, query, headers)
        listing = re.fullmatch(r"/repos/([^/]+)/([^/]+)/(issues/events|issues/comments)", path)
        if listing:
            return self._conditional(headers, *self._listing(path, listing.group(2), listing.group(3), query))
        reviews = re.fullmatch(r"/repos/([^/]+)/([^/]+)/pulls/(\d+)/reviews", path)
        if reviews:
            return self._reviews(path, reviews.group(2), int(reviews.group(3)), query)
        if re.fullmatch(r"/(repos/[^/]+/[^/]+|repositories/\d+)/issues/\d+", path):
            return self._issue(url)
        return 404, {}, json.dumps({"message": "Not Found"})

    def _headers(self, resource: str, remaining: int = 4999) -> dict:
        reset = "1700000000"
        if resource == "core" and self.core_exhausted_until is not None:
            remaining, reset = 0, str(int(self.core_exhausted_until))
        elif resource == "core" and self.core_remaining is not None:
            remaining, reset = self.core_remaining, str(int(datetime.now(UTC).timestamp()) + 3600)
        return {
            "x-ratelimit-limit": str(self.rate_limit),
            "x-ratelimit-remaining": str(remaining),
            "x-ratelimit-reset": reset,
            "x-ratelimit-resource": resource,
            "Content-Type": "application/json",
        }

    def _page_links(self, path: str, query: dict, page: int, last: int) -> dict:
        links = []
        if page < last:
            links.append(f'<{self.api}{path}?{urlencode({**query, "page": page + 1})}>; rel="next"')
            links.append(f'<{self.api}{path}?{urlencode({**query, "page": last})}>; rel="last"')
        return {"Link": ", ".join(links)} if links else {}

    def _list(self, path: str, query: dict, rows: list) -> tuple[int, dict, str]:
        per_page, page = int(query.get("per_page", 30)), int(query.get("page", 1))
        last = max(1, -(-len(rows) // per_page))
        body = rows[(page - 1) * per_page : page * per_page]
        return 200, {**self._headers("core"), **self._page_links(path, query, page, last)}, json.dumps(body)

    def matches(self, q: str) -> list[dict]:
        repos, excluded, org, checks, dated = set(), set(), None, [], []
        for term in q.split():
            name, _, value = term.partition(":")
            if name == "repo":  # GitHub's search ignores case in names
                repos.add(value.lower())
            elif name == "-repo":  # any qualifier with a leading - excludes what it matches
                excluded.add(value.lower())
            elif name == "archived":
                archived = {f"{self.org}/{r['name']}".lower() for r in self.repos if r.get("archived")}
                wanted = value == "true"
                checks.append(lambda i, a=archived, w=wanted: (self._owner_repo(i) in a) == w)
            elif name == "org":
                org = value.lower()
            elif term == "is:pr":
                checks.append(lambda i: "pull_request" in i)
            elif term == "is:issue":
                checks.append(lambda i: "pull_request" not in i)
            elif term == "is:merged":
                checks.append(lambda i: (i.get("pull_request") or {}).get("merged_at") is not None)
            elif term == "is:unmerged":
                checks.append(lambda i: "pull_request" in i and i["pull_request"].get("merged_at") is None)
            elif term == "is:closed":
                checks.append(lambda i: i["state"] == "closed")
            elif term == "is:open":
                checks.append(lambda i: i["state"] == "open")
            elif name in ("created", "updated", "closed"):
                dated.append((name + "_at", value))
            else:  # a qualifier the fake would silently ignore would prove nothing about the app's queries
                raise ValueError(f"the fake GitHub does not understand the search term {term!r} in {q!r}")
        found = []
        for payload in self.items.values():
            owner_repo = self._owner_repo(payload)
            if payload["id"] in self.unindexed:
                continue
            if (repos and owner_repo not in repos) or owner_repo in excluded:
                continue
            if org and not owner_repo.startswith(org + "/"):
                continue
            if not all(check(payload) for check in checks):
                continue
            if all(self._in_range(payload.get(key), value) for key, value in dated):
                found.append(payload)
        return found

    @staticmethod
    def _owner_repo(payload: dict) -> str:
        return payload["repository_url"].split("/repos/", 1)[1].lower()

    @staticmethod
    def _in_range(stamp: str | None, value: str) -> bool:
        try:
            moment = _parse_time(stamp)
        except (TypeError, ValueError):
            return False
        if ".." in value:
            low, high = value.split("..")
            return _parse_time(low) <= moment <= _parse_time(high)
        for op in (">=", "<=", ">", "<"):
            if value.startswith(op):
                bound = _parse_time(value[len(op) :])
                return {">=": moment >= bound, "<=": moment <= bound, ">": moment > bound, "<": moment < bound}[op]
        return moment.date() == _parse_time(value).date()

    def _search(self, query: dict) -> tuple[int, dict, str]:
        per_page, page = int(query.get("per_page", 30)), int(query.get("page", 1))
        headers = self._headers("search", 29 if self.search_remaining is None else self.search_remaining)
        if self.search_remaining is not None:
            self.search_remaining = max(0, self.search_remaining - 1)
        if page * per_page > SEARCH_CAP:
            return 422, headers, json.dumps({"message": "Only the first 1000 search results are available"})
        found = self.matches(query["q"])
        key = (query.get("sort") or "created") + "_at"
        found.sort(key=lambda i: (i.get(key) or "", i["id"] or 0))
        visible = found[:SEARCH_CAP]
        last = max(1, -(-len(visible) // per_page))
        incomplete = self.incomplete_searches != 0
        if self.incomplete_searches > 0:
            self.incomplete_searches -= 1
        body = {
            "total_count": len(found),
            "incomplete_results": incomplete,
            "items": [self.counted(item) for item in visible[(page - 1) * per_page : page * per_page]],
            "search_type": "lexical",
        }
        return 200, {**headers, **self._page_links("/search/issues", query, page, last)}, json.dumps(body)

    def counted(self, payload: dict) -> dict:
        """The item as GitHub serves it: its `comments` is how many comments its timeline holds."""
        events = self.timelines.get(payload["id"], [])
        return {**payload, "comments": sum(1 for event in events if event.get("event") == "commented")}

    def _not_counted(self) -> None:
        """A 304 to an authorized conditional request costs no rate limit."""
        self.requests["core"] -= 1
        self.requests["not_modified"] += 1
        if self.core_remaining is not None:
            self.core_remaining += 1

    def _conditional(self, request_headers: dict, status: int, headers: dict, body: str) -> tuple[int, dict, str]:
        """A list page as GitHub serves it: with an ETag of its body, and 304 (not counted) when the request
        names that ETag."""
        if status != 200:
            return status, headers, body
        etag = 'W/"' + hashlib.md5(body.encode()).hexdigest() + '"'
        if request_headers.get("If-None-Match") == etag:
            self._not_counted()
            return 304, {**headers, "ETag": etag}, ""
        return 200, {**headers, "ETag": etag}, body

    def _timeline(self, url: str, match, query: dict, headers: dict) -> tuple[int, dict, str]:
        number = int(match.group(3))
        owner_repo = f"{match.group(1)}/{match.group(2)}"
        payload = self._item_at(owner_repo, number)
        if payload is None:
            return 404, self._headers("core"), json.dumps({"message": "Not Found"})
        events = [served(event, payload) for event in self.timelines.get(payload["id"], [])]
        per_page, page = int(query.get("per_page", 30)), int(query.get("page", 1))
        body = json.dumps(events[(page - 1) * per_page : page * per_page], sort_keys=True)
        etag = 'W/"' + hashlib.md5(body.encode()).hexdigest() + '"'
        last = max(1, -(-len(events) // per_page))
        links = self._page_links(urlsplit(url).path, query, page, last)
        if headers.get("If-None-Match") == etag:
            self._not_counted()
            return 304, {**self._headers("core"), "ETag": etag, **links}, ""
        return 200, {**self._headers("core"), "ETag": etag, **links}, body

    # --- repo-level listings and reviews, derived from the same timelines ---------------------------------------
    TIMELINE_ONLY = ("commented", "reviewed", "committed", "cross-referenced", "line-commented", "commit-commented")

    def _repo_items(self, repo: str) -> list[dict]:
        """The repo's items, from an index rebuilt when items were added or removed (an org of 2,000 repos would
        otherwise be scanned whole for every listing page)."""
        key = (len(self.items), self._edits)
        if self._repo_index[0] != key:
            index: dict[str, list[dict]] = {}
            for payload in self.items.values():
                index.setdefault(payload["repository_url"].rsplit("/", 1)[-1], []).append(payload)
            self._repo_index = (key, index)
        suffix = f"/repos/{self.org}/{repo}"
        return [p for p in self._repo_index[1].get(repo, []) if p["repository_url"].endswith(suffix)]

    def _listing(self, path: str, repo: str, kind: str, query: dict) -> tuple[int, dict, str]:
        """Issue events newest first, each with its `issue`; or comments changed since `since`, oldest first.

        The first page takes a snapshot that the following pages of the same walk are served from (as a server
        cursor would), so a long listing is not rebuilt for every page."""
        walk = (repo, kind, query.get("since"))
        page = int(query.get("page", 1))
        if page > self.listing_depth_limit.get(repo, 10**9):
            message = "In order to keep the API fast for everyone, pagination is limited for this resource."
            return 422, self._headers("core"), json.dumps({"message": message, "documentation_url": DOCS})
        if page > 1 and walk in self._walks:
            return self._listed(repo, path, query, self._walks[walk])
        rows = []
        for payload in self._repo_items(repo):
            issue = {k: v for k, v in payload.items() if k not in ("score",)}
            for event in (served(e, payload) for e in self.timelines.get(payload["id"], [])):
                if event.get("id") in self.hidden_from_listings:
                    continue
                if kind == "issues/events" and event.get("id") is not None and event["event"] not in self.TIMELINE_ONLY:
                    rows.append({**event, "issue": issue})
                elif kind == "issues/comments" and event["event"] == "commented":
                    since = query.get("since")
                    if since is None or _parse_time(event["updated_at"]) >= _parse_time(since):
                        rows.append({k: v for k, v in event.items() if k not in ("event", "actor")})
        if kind == "issues/events":
            rows.sort(key=lambda e: (e["created_at"], e["id"]), reverse=repo not in self.listing_out_of_order)
        else:
            rows.sort(key=lambda c: (c["updated_at"], c["id"]))
        self._walks[walk] = rows
        return self._listed(repo, path, query, rows)

    def _listed(self, repo: str, path: str, query: dict, rows: list) -> tuple[int, dict, str]:
        """A listing page; the page `listing_without_next` names for the repo loses its `Link` header."""
        status, headers, body = self._list(path, query, rows)
        if int(query.get("page", 1)) == self.listing_without_next.get(repo):
            headers.pop("Link", None)
        return status, headers, body

    def _pull(self, repo: str, number: int) -> dict | None:
        return next((p for p in self._repo_items(repo) if p["number"] == number and "pull_request" in p), None)

    def _reviews(self, path: str, repo: str, number: int, query: dict) -> tuple[int, dict, str]:
        pull = self._pull(repo, number)
        if pull is None:
            return 404, self._headers("core"), json.dumps({"message": "Not Found"})
        rows = [
            {**{k: v for k, v in e.items() if k != "event"}, "state": e["state"].upper()}
            for e in self.timelines.get(pull["id"], [])
            if e.get("event") == "reviewed"
        ]
        return self._list(path, query, rows)

    def _graphql(self, body: dict) -> tuple[int, dict, str]:
        """Any query, executed against GitHub's schema over this fake's pull requests and reviews."""
        headers = {**self._headers("graphql"), "x-ratelimit-resource": "graphql"}
        if self.graphql_rate_limited:
            self.graphql_rate_limited -= 1
            reset = str(int(datetime.now(UTC).timestamp()) + self.graphql_reset_in)
            headers.update({"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset})
            message = "API rate limit already exceeded for user ID 1."
            return 200, headers, json.dumps({"errors": [{"type": "RATE_LIMITED", "message": message}]})
        by_node = {p["node_id"]: p for p in self.items.values()}
        root = {
            "rateLimit": {
                "cost": 1,
                "limit": 5000,
                "nodeCount": 0,
                "remaining": 4999,
                "used": 1,
                "resetAt": ts(datetime(2030, 1, 1, tzinfo=UTC)),
            },
            "nodes": lambda _info, ids: [self._node(by_node.get(node_id), node_id) for node_id in ids],
        }
        answer = contract.execute(body.get("query") or "", body.get("variables") or {}, root)
        return 200, headers, json.dumps(answer)

    def _node(self, payload: dict | None, node_id: str):
        if node_id in self.graphql_node_errors:
            kind = self.graphql_node_errors[node_id]
            return contract.GraphQLError(f"{kind.title()}: {node_id}", extensions={"type": kind})
        if payload is None:
            return contract.not_found(node_id)
        if "pull_request" not in payload:
            return {"__typename": "Issue", "id": node_id, "url": payload["html_url"], "number": payload["number"]}
        reviews = [e for e in self.timelines.get(payload["id"], []) if e.get("event") == "reviewed"]

        def connection(_info, first=None, **_arguments):
            shown = reviews[: first or 100]
            return {
                "totalCount": len(reviews),
                "pageInfo": {"hasNextPage": len(reviews) > len(shown), "hasPreviousPage": False},
                "nodes": [_graphql_review(review) for review in shown],
            }

        return {
            "__typename": "PullRequest",
            "id": node_id,
            "url": payload["html_url"],
            "number": payload["number"],
            "fullDatabaseId": str(payload["id"]),
            "databaseId": payload["id"],
            "reviews": connection,
        }

    def _item_at(self, owner_repo: str, number: int) -> dict | None:
        """The item `owner/repo#number`, from an index rebuilt whenever it is stale (items come and go)."""
        found = self._by_number.get((owner_repo, number))
        if found is None or self.items.get(found["id"]) is not found:
            self._by_number = {
                (p["repository_url"].split("/repos/", 1)[1], p["number"]): p for p in self.items.values()
            }
            found = self._by_number.get((owner_repo, number))
        return found

    def known_repos(self) -> set[str]:
        names = {repo["name"] for repo in self.repos}
        return names | {payload["repository_url"].rsplit("/", 1)[1] for payload in self.items.values()}

    def _repo(self, owner: str, name: str) -> tuple[int, dict, str]:
        """One repository; GitHub matches owner and name whatever their case and answers its own spelling."""
        spelled = {known.lower(): known for known in self.known_repos()}
        if owner.lower() != self.org.lower() or name.lower() not in spelled:
            return 404, self._headers("core"), json.dumps({"message": "Not Found"})
        name = spelled[name.lower()]
        known = next((repo for repo in self.repos if repo["name"] == name), {"name": name, "archived": False})
        return 200, self._headers("core"), json.dumps(self.repository(known))

    def repository(self, repo: dict, minimal: bool = False) -> dict:
        """A repository as GitHub's description's own example shapes it, renamed to `repo` ({name, archived}).
        The full example predates `has_discussions`, which the schema now requires: it is added."""
        if minimal:
            shaped = contract.example("minimal-repository-items")[0]
        else:
            shaped = {**contract.example("full-repository"), "has_discussions": False}
        text = json.dumps(shaped).replace("https://api.github.com", self.api)
        text = text.replace("octocat/Hello-World", f"{self.org}/{repo['name']}")
        shaped = json.loads(text)
        repo_id = 700_000 + sum(map(ord, repo["name"])) * 31 + len(repo["name"])
        shaped.update(id=repo_id, name=repo["name"], archived=bool(repo.get("archived")), private=False)
        shaped["owner"] = {**shaped["owner"], "login": self.org, "type": "Organization"}
        return shaped

    def _issue(self, url: str) -> tuple[int, dict, str]:
        if url in self.moved:
            location = self.moved[url]
            return (
                301,
                {"Location": location, **self._headers("core")},
                json.dumps(
                    {
                        "message": "Moved Permanently",
                        "url": location,
                        "documentation_url": "https://docs.github.com/rest/guides/best-practices-for-using-the-rest-api",
                    }
                ),
            )
        if url in self.deleted:
            return 410, self._headers("core"), json.dumps({"message": "This issue was deleted"})
        target = self.moved_targets.get(url)
        for payload in self.items.values():
            if payload["url"] == url or payload["id"] == target:
                return 200, self._headers("core"), json.dumps(self.counted(payload))
        return 404, self._headers("core"), json.dumps({"message": "Not Found"})

    # --- plugging into `responses` ----------------------------------------------------------------------------
    def install(self, mock) -> None:
        """Route every GET to this fake through a `responses.RequestsMock`."""

        def callback(request):
            status, headers, body = self.handle(request.method, request.url, dict(request.headers))
            return status, headers, body

        def callback_with_body(request):
            body = request.body.decode() if isinstance(request.body, bytes) else request.body or ""
            return self.handle(request.method, request.url, dict(request.headers), body)

        mock.add_callback("GET", re.compile(re.escape(self.api) + r"/.*"), callback=callback)
        mock.add_callback("POST", re.compile(re.escape(self.api) + r"/graphql"), callback=callback_with_body)
        mock.add_callback("POST", re.compile(re.escape(self.api) + r"/app/.*"), callback=callback_with_body)
        mock.add_callback(
            "POST", re.compile(re.escape(self.api) + r"/orgs/[^/]+/hooks/.*"), callback=callback_with_body
        )
