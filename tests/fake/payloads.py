"""GitHub's payloads as the fake serves them and the tests build them: users, issues and PRs, timeline events."""

from __future__ import annotations

from datetime import UTC, datetime


def ts(value: str | datetime) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value


def user(login: str, user_id: int, kind: str = "User") -> dict:
    base = "https://api.github.com/users/" + login
    return {
        "login": login,
        "id": user_id,
        "node_id": f"U_{user_id}",
        "avatar_url": f"https://avatars.example/{user_id}",
        "gravatar_id": "",
        "url": base,
        "html_url": f"https://github.com/{login}",
        "followers_url": base + "/followers",
        "following_url": base + "/following{/other_user}",
        "gists_url": base + "/gists{/gist_id}",
        "starred_url": base + "/starred{/owner}{/repo}",
        "subscriptions_url": base + "/subscriptions",
        "organizations_url": base + "/orgs",
        "repos_url": base + "/repos",
        "events_url": base + "/events{/privacy}",
        "received_events_url": base + "/received_events",
        "type": kind,
        "site_admin": False,
        "user_view_type": "public",
    }


def reactions(url: str, **counts: int) -> dict:
    keys = ("+1", "-1", "laugh", "hooray", "confused", "heart", "rocket", "eyes")
    values = {key: counts.get(key.replace("+1", "plus1").replace("-1", "minus1"), 0) for key in keys}
    return {"url": url + "/reactions", "total_count": sum(values.values()), **values}


def item(
    api: str,
    org: str,
    repo: str,
    number: int,
    *,
    item_id: int,
    author: dict | None,
    created: str,
    updated: str | None = None,
    closed: str | None = None,
    pr: bool = False,
    merged: str | None = None,
    title: str = "",
    body: str = "",
    labels: list[str] = (),
    comments: int = 0,
    draft: bool = False,
    state_reason: str | None = None,
) -> dict:
    """A search result item shaped like GitHub's, unknown-to-the-app fields included."""
    repo_url = f"{api}/repos/{org}/{repo}"
    url = f"{repo_url}/issues/{number}"
    payload = {
        "url": url,
        "repository_url": repo_url,
        "labels_url": url + "/labels{/name}",
        "comments_url": url + "/comments",
        "events_url": url + "/events",
        "html_url": f"https://github.com/{org}/{repo}/{'pull' if pr else 'issues'}/{number}",
        "id": item_id,
        "node_id": f"I_{item_id}",
        "number": number,
        "title": title or f"{repo} #{number}",
        "user": author,
        "labels": [
            {
                "id": 100 + i,
                "node_id": f"L_{i}",
                "url": f"{repo_url}/labels/{name}",
                "name": name,
                "color": "ededed",
                "default": False,
                "description": None,
            }
            for i, name in enumerate(labels)
        ],
        "state": "closed" if closed else "open",
        "locked": False,
        "assignee": None,
        "assignees": [],
        "milestone": None,
        "comments": comments,
        "created_at": created,
        "updated_at": updated or closed or created,
        "closed_at": closed,
        "author_association": "NONE",
        "type": None,
        "active_lock_reason": None,
        "sub_issues_summary": {"total": 0, "completed": 0, "percent_completed": 0},
        "issue_dependencies_summary": {"blocked_by": 0, "total_blocked_by": 0, "blocking": 0, "total_blocking": 0},
        "body": body or None,
        "reactions": reactions(url),
        "timeline_url": url + "/timeline",
        "performed_via_github_app": None,
        "state_reason": state_reason or ("completed" if closed and not pr else None),
        "score": 1.0,
    }
    if pr:
        payload["draft"] = draft
        payload["pull_request"] = {
            "url": f"{repo_url}/pulls/{number}",
            "html_url": payload["html_url"],
            "diff_url": payload["html_url"] + ".diff",
            "patch_url": payload["html_url"] + ".patch",
            "merged_at": merged,
        }
    return payload


def commented(
    event_id: int,
    author: dict | None,
    created: str,
    body: str = "Thanks!",
    updated: str | None = None,
    **reaction_counts: int,
) -> dict:
    url = f"https://api.github.com/repos/acme/widgets/issues/comments/{event_id}"
    return {
        "url": url,
        "html_url": f"https://github.com/acme/widgets/issues/1#issuecomment-{event_id}",
        "issue_url": "https://api.github.com/repos/acme/widgets/issues/1",
        "id": event_id,
        "node_id": f"IC_{event_id}",
        "user": author,
        "created_at": created,
        "updated_at": updated or created,
        "author_association": "NONE",
        "body": body,
        "reactions": reactions(url, **reaction_counts),
        "performed_via_github_app": None,
        "event": "commented",
        "actor": author,
    }


def labeled(event_id: int, actor: dict, created: str, name: str) -> dict:
    return {
        "id": event_id,
        "node_id": f"LE_{event_id}",
        "url": f"https://api.github.com/events/{event_id}",
        "actor": actor,
        "event": "labeled",
        "commit_id": None,
        "commit_url": None,
        "created_at": created,
        "label": {"name": name, "color": "d73a4a"},
        "performed_via_github_app": None,
    }


def unlabeled(event_id: int, actor: dict, created: str, name: str) -> dict:
    return {**labeled(event_id, actor, created, name), "node_id": f"UNLE_{event_id}", "event": "unlabeled"}


def closed(event_id: int, actor: dict, created: str) -> dict:
    """A `closed` event, as the issue events listing and the timeline carry it."""
    return {
        "id": event_id,
        "node_id": f"CE_{event_id}",
        "url": f"https://api.github.com/events/{event_id}",
        "actor": actor,
        "event": "closed",
        "commit_id": None,
        "commit_url": None,
        "created_at": created,
        "state_reason": None,
        "performed_via_github_app": None,
    }


def reviewed(
    event_id: int, author: dict, submitted: str, state: str = "approved", pull: str = "acme/widgets/2"
) -> dict:
    """A `reviewed` timeline event of the pull request `pull` ("org/repo/number"), as GitHub's REST shapes it."""
    owner, repo, number = pull.split("/")
    html = f"https://github.com/{owner}/{repo}/pull/{number}#pullrequestreview-{event_id}"
    api = f"https://api.github.com/repos/{owner}/{repo}/pulls/{number}"
    return {
        "id": event_id,
        "node_id": f"PRR_{event_id}",
        "user": author,
        "body": "Looks good",
        "commit_id": "abc123",
        "submitted_at": submitted,
        "state": state,
        "author_association": "MEMBER",
        "html_url": html,
        "pull_request_url": api,
        "_links": {"html": {"href": html}, "pull_request": {"href": api}},
        "event": "reviewed",
    }


def cross_referenced(actor: dict, created: str, source_number: int) -> dict:
    return {
        "actor": actor,
        "created_at": created,
        "updated_at": created,
        "event": "cross-referenced",
        "source": {
            "type": "issue",
            "issue": {
                "id": 5000 + source_number,
                "number": source_number,
                "url": f"https://api.github.com/repos/acme/gadgets/issues/{source_number}",
            },
        },
    }


def served(event: dict, item: dict) -> dict:
    """An event as GitHub serves it for `item`: a comment's `issue_url` and `html_url` name the item it is on."""
    if event.get("event") != "commented":
        return event
    return {**event, "issue_url": item["url"], "html_url": f"{item['html_url']}#issuecomment-{event['id']}"}


def _graphql_review(review: dict) -> dict:
    author = review.get("user")
    return {
        "__typename": "PullRequestReview",
        "id": review["node_id"],
        "fullDatabaseId": str(review["id"]),
        "databaseId": review["id"],
        "body": review.get("body"),
        "state": review["state"].upper(),
        "submittedAt": review.get("submitted_at"),
        "url": review.get("html_url"),
        "authorAssociation": review.get("author_association"),
        "commit": {"oid": review.get("commit_id")},
        "author": None
        if author is None
        else {
            "__typename": author.get("type", "User"),
            "login": author["login"].removesuffix("[bot]"),
            "avatarUrl": author.get("avatar_url"),
            "url": author.get("html_url"),
            "id": author.get("node_id"),
            "databaseId": author.get("id"),
            "isSiteAdmin": author.get("site_admin", False),
        },
    }


def committed(sha: str, date: str, message: str = "Fix it") -> dict:
    """A `committed` timeline event: no id, no actor, no created_at; the commit's author is a name and e-mail."""
    person = {"name": "Alice Example", "email": "alice@example.com", "date": date}
    return {
        "sha": sha,
        "node_id": f"C_{sha[:8]}",
        "url": f"https://api.github.com/repos/acme/widgets/git/commits/{sha}",
        "html_url": f"https://github.com/acme/widgets/commit/{sha}",
        "author": person,
        "committer": person,
        "tree": {"sha": "f" * 40, "url": "https://api.github.com/repos/acme/widgets/git/trees/" + "f" * 40},
        "message": message,
        "parents": [],
        "verification": {"verified": False, "reason": "unsigned"},
        "event": "committed",
    }


def line_commented(comments: list[tuple[int, dict, str]]) -> dict:
    """A `line-commented` event: a review thread, identified only by its comments (id, author, time)."""
    return {
        "event": "line-commented",
        "node_id": "PRRT_thread",
        "comments": [
            {
                "url": f"https://api.github.com/repos/acme/widgets/pulls/comments/{cid}",
                "id": cid,
                "node_id": f"PRRC_{cid}",
                "pull_request_review_id": None,
                "diff_hunk": "@@ -1 +1 @@",
                "path": "a.py",
                "commit_id": "abc123",
                "original_commit_id": "abc123",
                "user": author,
                "body": f"comment {cid}",
                "created_at": at,
                "updated_at": at,
                "html_url": f"https://github.com/acme/widgets/pull/2#discussion_r{cid}",
                "pull_request_url": "https://api.github.com/repos/acme/widgets/pulls/2",
                "author_association": "MEMBER",
                "_links": {
                    "self": {"href": f"https://api.github.com/repos/acme/widgets/pulls/comments/{cid}"},
                    "html": {"href": f"https://github.com/acme/widgets/pull/2#discussion_r{cid}"},
                    "pull_request": {"href": "https://api.github.com/repos/acme/widgets/pulls/2"},
                },
            }
            for cid, author, at in comments
        ],
    }
