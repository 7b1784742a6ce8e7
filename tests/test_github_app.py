"""The GitHub App path: a signed JWT finds the installation and buys installation tokens, renewed before they
expire and once on a 401, so a long run outlives any one token; GH_TOKEN keeps working, and the App wins over it."""

import logging

import pytest

from chalicelib import config
from chalicelib.config import ConfigError, Settings
from chalicelib.github import GitHubAPI, GitHubAPIError
from chalicelib.github.app_auth import AppInstallation, github_credentials
from tests.fake import FakeGitHub
from tests.fake.app import FakeApp
from tests.helpers import MARIA, ago, last_run


@pytest.fixture
def app(github, clock):
    github.app = FakeApp(clock=clock)
    return github.app


def installation(github, app, clock, **kwargs) -> AppInstallation:
    return AppInstallation(github.api, app.app_id, app.private_key_pem, github.org, clock=clock, **kwargs)


def test_the_jwt_is_rs256_issued_a_minute_back_and_expires_within_ten_minutes(github, app, clock):
    import jwt

    token = installation(github, app, clock).app_jwt()
    claims = jwt.decode(token, app._public_key, algorithms=["RS256"], options={"verify_exp": False})
    assert claims["iss"] == app.app_id and claims["iat"] == int(clock()) - 60
    assert 0 < claims["exp"] - int(clock()) <= 600


def test_the_app_finds_the_orgs_installation_and_reads_with_its_token(github, app, clock):
    github.members = [MARIA]
    api = GitHubAPI(github.api, installation(github, app, clock), clock=clock, sleep=clock.sleep)
    assert [m["login"] for m in api.paginate(f"/orgs/{github.org}/members")] == ["maria"]
    assert f"GET /orgs/{github.org}/installation?" in github.log and not app.jwt_refusals
    assert api.token in app.tokens, "the request carried the installation token"


def test_a_given_installation_id_skips_the_lookup(github, app, clock):
    api = GitHubAPI(github.api, installation(github, app, clock, installation_id="4242"), clock=clock)
    list(api.paginate(f"/orgs/{github.org}/members"))
    assert not any("/installation?" in line for line in github.log)


def test_the_token_is_renewed_before_it_expires_without_a_401(github, app, clock):
    credentials = installation(github, app, clock)
    api = GitHubAPI(github.api, credentials, clock=clock, sleep=clock.sleep)
    list(api.paginate(f"/orgs/{github.org}/members"))
    clock.now += 56 * 60
    list(api.paginate(f"/orgs/{github.org}/members"))
    assert credentials.renewals == 2 and github.requests["failed"] == 0


def test_a_401_mid_run_renews_the_token_once_and_the_request_goes_through(github, app, clock):
    credentials = installation(github, app, clock)
    api = GitHubAPI(github.api, credentials, clock=clock, sleep=clock.sleep)
    list(api.paginate(f"/orgs/{github.org}/members"))
    app.revoke_all()
    list(api.paginate(f"/orgs/{github.org}/members"))
    assert credentials.renewals == 2


def test_a_run_of_four_hours_never_fails_at_the_hour_mark(github, app, clock):
    credentials = installation(github, app, clock)
    api = GitHubAPI(github.api, credentials, clock=clock, sleep=clock.sleep)
    for _ in range(24):  # a request every ten minutes, from 0 to 230 minutes
        list(api.paginate(f"/orgs/{github.org}/members"))
        clock.now += 10 * 60
    assert credentials.renewals == 4, "a token at 0, 60, 120 and 180 min: each renewed within 5 min of its end"
    assert github.requests["failed"] == 0


def test_an_app_not_installed_on_the_org_says_so(clock):
    other = FakeGitHub(org="elsewhere")
    app = FakeApp(org="acme", clock=clock)
    other.app = app
    import responses

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        other.install(mock)
        credentials = AppInstallation(other.api, app.app_id, app.private_key_pem, "elsewhere", clock=clock)
        with pytest.raises(GitHubAPIError, match=r"could not get a token for elsewhere.*installed on the org"):
            credentials.current()


def test_a_key_that_cannot_sign_is_a_configuration_error(github, clock):
    with pytest.raises(ConfigError, match="private key cannot sign"):
        AppInstallation(github.api, "123456", "-----BEGIN RSA PRIVATE KEY-----\nnope\n", github.org, clock=clock)


def test_an_app_id_without_a_key_file_names_the_missing_setting(monkeypatch):
    monkeypatch.setenv("GITHUB_APP_ID", "123456")
    config.reset_caches()
    with pytest.raises(ConfigError, match="GITHUB_APP_PRIVATE_KEY_FILE is not"):
        github_credentials(config.get_settings())


def test_an_app_id_that_is_not_a_number_is_refused():
    with pytest.raises(ConfigError, match="GITHUB_APP_ID must be GitHub's numeric id"):
        Settings.from_env({"GITHUB_APP_ID": "my-app"})


def test_a_job_with_both_app_and_token_authenticates_as_the_app_and_says_so(
    github, invoke, app_env, monkeypatch, tmp_path, caplog
):
    github.app = FakeApp()
    github.members = [MARIA]
    github.new_item("widgets", 1, item_id=11, author=MARIA, created=ago(days=1))
    key = tmp_path / "app.pem"
    key.write_text(github.app.private_key_pem)
    monkeypatch.setenv("GITHUB_APP_ID", github.app.app_id)
    monkeypatch.setenv("GITHUB_APP_PRIVATE_KEY_FILE", str(key))
    config.reset_caches()
    with caplog.at_level(logging.INFO, logger="chalicelib.github"):
        invoke("every_30_min")
    assert last_run(app_env, "every_30_min").status == "ok"
    assert "authenticating as the GitHub App 123456; GH_TOKEN is not used" in caplog.text


def test_without_the_app_the_token_is_used_as_before(github, invoke, app_env):
    github.members = [MARIA]
    invoke("every_30_min")
    assert last_run(app_env, "every_30_min").status == "ok"
