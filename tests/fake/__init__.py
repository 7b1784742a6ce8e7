"""A fake GitHub held to GitHub's published descriptions (tests/contract): `github` (the fake itself, for
`responses`), `server` (the same over HTTP on 127.0.0.1), `payloads` (GitHub-shaped builders). The tests and the
benchmarks import it from here."""

from tests.fake.github import FakeGitHub
from tests.fake.payloads import (
    closed,
    commented,
    committed,
    cross_referenced,
    item,
    labeled,
    line_commented,
    reactions,
    reviewed,
    served,
    ts,
    unlabeled,
    user,
)
from tests.fake.server import serve

__all__ = [
    "FakeGitHub",
    "closed",
    "commented",
    "committed",
    "cross_referenced",
    "item",
    "labeled",
    "line_commented",
    "reactions",
    "reviewed",
    "serve",
    "served",
    "ts",
    "unlabeled",
    "user",
]
