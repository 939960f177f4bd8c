"""The dashboard's retrain button, end to end (issue 20): the monitor and the App on loopback
(uvicorn), the fake GitHub (OpenAPI-checked), headless Chromium pressing the button."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from _kserve_events import headers, v2_request, wait_until
from conftest import RunningMonitor

from mlpipex.monitor import ModelInfo, MonitorSettings
from mlpipex.monitor._auth import MonitorAuth, Token
from mlpipex.monitor._settings import ModelAlerts

pytest.importorskip("fastapi")
from providers.fake_github import SPEC_PATH
from providers.fake_github_app import FakeGitHubApp

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/lib/chromium/chromium")
REPO = "acme/models"
MODEL = "breast-cancer"
ALICE, VIEWER = "alice-token-0123456789abcdef", "viewer-token-0123456789abcdef"
ALERT_TOKEN, API_TOKEN = "alert-token-0123456789abcdef", "api-token-0123456789abcdef"
TOKEN_ENV = "MLPIPEX_TEST_RETRAIN_ALERT_TOKEN"
BRANCH = f"mlpipex/retrain/{MODEL}"


@pytest.fixture
def the_app(tmp_path: Path, quickstart: Path) -> Iterator[tuple[FakeGitHubApp, RunningMonitor]]:
    if not SPEC_PATH.exists():
        pytest.skip("npm @octokit/openapi is not installed (`make test` installs it into .tools/)")
    from github import Auth, Github

    from mlpipex.app import create_app
    from mlpipex.app.settings import Settings

    config = yaml.safe_load((quickstart / "mlpipex.yaml").read_text())
    config["retraining"] = {"labels": ["retraining"]}
    with FakeGitHubApp(REPO) as github:
        github.commit("main", {"mlpipex.yaml": yaml.safe_dump(config, sort_keys=False)})
        settings = Settings(webhook_secret="retrain-button-secret", database_url=f"sqlite:///{tmp_path / 'app.db'}",
                            worker_threads=1, app_id=1, alert_token=ALERT_TOKEN, api_token=API_TOKEN)  # fmt: skip
        client = Github(auth=Auth.Token("ghs_installation"), base_url=github.url, retry=None,
                        seconds_between_requests=0, seconds_between_writes=0)  # fmt: skip
        app = create_app(settings, github_for=lambda installation_id: client)
        app.state.mlpipex.store.installations.add(7, [REPO], account="acme")
        server = RunningMonitor(app)  # any ASGI app: uvicorn on a free loopback port
        try:
            yield github, server
        finally:
            server.stop()


def _monitor_settings(tmp_path: Path, app_url: str, *, auth: bool = True) -> MonitorSettings:
    tokens = (Token.of("alice", ALICE, frozenset({"read", "retrain"})), Token.of("viewer", VIEWER, frozenset({"read"})),
              Token.of("kserve", "kserve-token-0123456789abcdef", frozenset({"ingest"})))  # fmt: skip
    return MonitorSettings(state_dir=tmp_path / "monitor", schedule_seconds=3600,
                           models={MODEL: ModelInfo(MODEL, repository=REPO, environment="production")},
                           alerts=ModelAlerts(url=f"{app_url}/alerts/drift", token_env=TOKEN_ENV),
                           auth=MonitorAuth(tokens if auth else ()))  # fmt: skip


def _one_event(url: str, token: str | None) -> None:
    extra = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.post(f"{url}/events", headers={**headers("e1", "request", when=time.time(), service=MODEL), **extra},
                          content=v2_request([[1.0, 2.0]]))  # fmt: skip
    assert response.status_code == 200, response.text


def _audit(app_url: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{app_url}/api/audit", headers={"Authorization": f"Bearer {API_TOKEN}"})
    assert response.status_code == 200, response.text
    return [e for e in response.json()["entries"] if e["action"] == "retrain"]


def _pulls(github: FakeGitHubApp) -> dict[int, dict[str, Any]]:
    return {n: p for n, p in github.pulls.items() if p["head_ref"] == BRANCH}


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (scripts/test.sh installs it)")
def test_the_retrain_button_opens_then_updates_the_pull_request(the_app, serve_monitor, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    sync_api = pytest.importorskip("playwright.sync_api")
    github, app = the_app
    monkeypatch.setenv(TOKEN_ENV, ALERT_TOKEN)
    monitor = serve_monitor(_monitor_settings(tmp_path, app.url))
    _one_event(monitor.url, "kserve-token-0123456789abcdef")

    # Without a token: 401 for the page and for the press, nothing reaches the App.
    assert httpx.get(f"{monitor.url}/dashboard").status_code == 401
    assert httpx.post(f"{monitor.url}/dashboard/retrain", data={"model": MODEL, "csrf": "x"}).status_code == 401
    # A read-only token sees no button and may not press one.
    viewer = httpx.get(f"{monitor.url}/dashboard", auth=("viewer", VIEWER))
    assert viewer.status_code == 200 and "Retrain" not in viewer.text and 'class="retrain"' not in viewer.text
    assert httpx.post(f"{monitor.url}/dashboard/retrain", auth=("viewer", VIEWER),
                      data={"model": MODEL, "csrf": "x"}).status_code == 403  # fmt: skip
    # alice's credentials without the dashboard's cookie and form token (a cross-site post): refused.
    forged = httpx.post(f"{monitor.url}/dashboard/retrain", auth=("alice", ALICE), data={"model": MODEL, "csrf": "0" * 64})
    assert forged.status_code == 403 and "Form expired" in forged.text

    results = ROOT / ".mlpipex" / "test-results"
    results.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--disable-quic"])  # fmt: skip
        try:
            context = browser.new_context(http_credentials={"username": "anyone", "password": ALICE})
            page = context.new_page()
            page.on("pageerror", lambda error: errors.append(str(error)))
            assert page.goto(f"{monitor.url}/dashboard").status == 200  # type: ignore[union-attr]
            cookie = next(c for c in context.cookies() if c["name"] == "mlpipex_csrf")
            assert cookie["sameSite"] == "Strict" and cookie["httpOnly"]
            button = page.locator(f"section.model form.retrain button[data-model='{MODEL}']")
            assert button.count() == 1
            page.screenshot(path=str(results / "monitor-retrain-button.png"), full_page=True)
            with page.expect_navigation():
                button.click()
            assert page.locator("h1.retrain-result").inner_text() == f"Retraining of {MODEL} requested"
            assert wait_until(lambda: len(_pulls(github)) == 1 and len(_audit(app.url)) == 1, timeout=30)
            [(number, pull)] = _pulls(github).items()
            assert pull["title"].startswith(f"Retrain {MODEL}: requested from the monitor's dashboard by alice")
            assert "Requested by alice (monitor dashboard)" in pull["body"]
            [entry] = _audit(app.url)
            assert entry["actor"] == "monitor:alice" and entry["model"] == MODEL and entry["outcome"] == "succeeded"
            assert "/pull/" in entry["detail"]  # the pull request's URL

            # A second press: the same pull request, updated; a second audit entry.
            page.goto(f"{monitor.url}/dashboard")
            with page.expect_navigation():
                page.locator(f"form.retrain button[data-model='{MODEL}']").click()
            assert wait_until(lambda: len(_audit(app.url)) == 2, timeout=30)
            assert list(_pulls(github)) == [number]
            assert [e["detail"] for e in _audit(app.url)] == [entry["detail"]] * 2 and _audit(app.url)[0]["actor"] == "monitor:alice"
            assert any("Updated by a new trigger: monitor dashboard" in reply for reply in github.replies(number))
        finally:
            browser.close()
    assert errors == []


def test_without_authentication_there_is_no_button(the_app, serve_monitor, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, app = the_app
    monitor = serve_monitor(_monitor_settings(tmp_path, app.url, auth=False))
    _one_event(monitor.url, None)
    page = httpx.get(f"{monitor.url}/dashboard")
    assert page.status_code == 200 and f'section class="model" data-model="ml/{MODEL}"' in page.text
    assert 'class="retrain"' not in page.text  # who pressed it could not be recorded
    refused = httpx.post(f"{monitor.url}/dashboard/retrain", data={"model": MODEL, "csrf": "x"})
    assert refused.status_code == 403 and "Sign-in needed" in refused.text


def test_a_form_token_is_bound_to_its_page_its_signer_and_its_model(tmp_path: Path) -> None:
    from mlpipex.monitor._retrain import RetrainButtons, retrain_url

    buttons = RetrainButtons(_monitor_settings(tmp_path, "http://127.0.0.1:1"))
    alice, viewer = Token.of("alice", ALICE), Token.of("viewer", VIEWER)
    nonce = buttons.new_nonce()
    token = buttons.form_token(nonce, alice, MODEL)
    assert buttons.valid(nonce, alice, MODEL, token)
    assert not buttons.valid(buttons.new_nonce(), alice, MODEL, token)  # another page's cookie
    assert not buttons.valid(nonce, viewer, MODEL, token)  # another signer
    assert not buttons.valid(nonce, alice, "other-model", token)
    assert not buttons.valid(None, alice, MODEL, token)  # no cookie: a cross-site post under SameSite=Strict
    assert not RetrainButtons(buttons.settings).valid(nonce, alice, MODEL, token)  # another process (a restart)
    assert retrain_url("https://app.example/alerts/drift") == "https://app.example/alerts/retrain"
    assert retrain_url("https://app.example/mlpipex/alerts/drift") == "https://app.example/mlpipex/alerts/retrain"
