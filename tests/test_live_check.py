"""The live check (bench/live_check.py) run against the fake: it reads the same items both ways and says where
the stored events differ. Against github.com it needs a token and the network, so here it is the fake's."""

from bench import live_check
from chalicelib.github import reviews
from tests.test_listings import history


def test_both_ways_store_the_same_rows_and_the_requests_each_way_are_printed(github, app_env, slept, capsys):
    history(github)
    assert live_check.main(["--repo", "acme/gadgets", "--items", "5"]) == 0
    out = capsys.readouterr().out
    assert "acme/gadgets: 3 events per item, 3 by listings" in out
    assert "per-item timelines: 2 search, 2 core, 0 GraphQL requests" in out
    assert "listings + GraphQL reviews: 2 search, 3 core, 1 GraphQL requests" in out
    assert out.strip().endswith("same rows both ways")


def test_a_row_the_two_ways_store_differently_is_named_with_its_columns(github, app_env, slept, capsys, monkeypatch):
    history(github)
    reshaped = reviews.rest_review
    monkeypatch.setattr(reviews, "rest_review", lambda review, url: {**reshaped(review, url), "body": "changed"})
    assert live_check.main(["--repo", "acme/gadgets", "--items", "5"]) == 1
    out = capsys.readouterr().out
    assert "differs in body: reviewed 3000000904 on item 12" in out
    assert "1 rows differ" in out


def test_without_a_token_it_says_what_it_needs(github, app_env, monkeypatch, capsys):
    monkeypatch.delenv("GH_TOKEN")
    assert live_check.main(["--repo", "acme/gadgets"]) == 2
    assert "GH_TOKEN is not set" in capsys.readouterr().err
