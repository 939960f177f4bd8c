"""The CLI and the App take rollout steps through the same functions (mlpipex.rollouts).

One model, one cluster: the App deploys on merge and answers `/promote production`
and `/rollback`, a person runs `mlpipex promote` in between, and every step of
both goes through ``Rollouts``' methods — the same plans, the same single read, the
same history on the object.
"""

from __future__ import annotations

import functools

import pytest

from app.handlers.conftest import A, B
from mlpipex.cli import main
from mlpipex.kserve.rollout import state_of
from mlpipex.rollouts import Rollouts


@pytest.fixture
def calls(monkeypatch):
    """Every Rollouts action taken, as (action, by), whoever called it."""
    seen: list[tuple[str, str | None]] = []
    for action in ("deploy", "promote", "promote_into", "canary", "rollback", "canary_step"):
        original = getattr(Rollouts, action)

        @functools.wraps(original)
        def spy(self, *args, __original=original, __action=action, **kwargs):
            seen.append((__action, kwargs.get("by")))
            return __original(self, *args, **kwargs)

        monkeypatch.setattr(Rollouts, action, spy)
    return seen


def test_the_cli_and_the_app_step_through_the_same_rollout_functions(world, calls, tmp_path, monkeypatch, capsys):
    config = tmp_path / "mlpipex.yaml"
    config.write_text(world.github.files[world.github.branches["main"]]["mlpipex.yaml"])
    monkeypatch.setenv("KUBECONFIG", str(world.app.settings.kubeconfig))
    monkeypatch.setenv("GITHUB_ACTOR", "ops")
    monkeypatch.chdir(tmp_path)
    cli = ["-c", str(config), "--env", "production", "--timeout", "5", "--provider", "local"]

    world.ship(5, A)  # the App: merged → staging
    assert main(["promote", *cli]) == 0, capsys.readouterr().err  # the CLI: staging's model into production
    assert world.serving("ml-prod") == (A, 100)
    world.ship(6, B)
    world.comment(6, "lead", "/promote production")  # the App: into production, its first canary step
    assert world.serving("ml-prod") == (B, 10)
    assert main(["promote", *cli]) == 0  # the CLI: B is already on its way, so the next step
    assert world.serving("ml-prod") == (B, 50)
    world.comment(6, "lead", "/rollback --env production")  # the App
    assert world.serving("ml-prod") == (A, 100)

    by_app = [(action, by.split(" via job ")[0]) for action, by in calls if by and " via job " in by]
    by_cli = [(action, by) for action, by in calls if by == "ops"]
    assert by_app == [("deploy", "merge of #5"), ("deploy", "merge of #6"), ("promote_into", "lead"), ("rollback", "lead")]
    assert by_cli == [("promote_into", "ops"), ("promote_into", "ops")]
    history = state_of(world.kube.objects[("ml-prod", "breast-cancer")]).history
    assert [(h["action"], h["traffic"], h["by"].split(" via job ")[0]) for h in history] == [
        ("deploy", 100, "ops"), ("deploy", 10, "lead"), ("promote", 50, "ops"), ("rollback", 100, "lead")]  # fmt: skip


def _config(quickstart, deploy):
    import yaml

    from mlpipex.config import load_config

    path = quickstart / "mlpipex.yaml"
    data = yaml.safe_load(path.read_text())
    data["deploy"] = {**deploy, "environments": [{"name": "prod", "canary": {"steps": [50, 100], "metrics": [
        {"name": "latency_p95", "margin": 0.2, "query": "q"}]}}]}  # fmt: skip
    path.write_text(yaml.safe_dump(data))
    config = load_config(path, check_files=False)
    return config, config.deploy.environments[0]


def test_one_metrics_source_precedence_for_the_cli_and_the_app(quickstart, tmp_path):
    """Samples given > the config's monitor or Prometheus > the App's default monitor; none: exit 2
    naming every setting. (The CLI had no default monitor, the App no --metrics-file.)"""
    from mlpipex.errors import InputError
    from mlpipex.kserve import FileSource, PrometheusSource
    from mlpipex.monitor import MonitorSource
    from mlpipex.rollouts import metrics_source

    config, env = _config(quickstart, {"prometheus": {"url": "http://prometheus:9090"}})
    assert isinstance(metrics_source(config, env, default_monitor="http://monitor:8090"), PrometheusSource)
    samples = tmp_path / "s.json"
    samples.write_text('{"canary": {}, "stable": {}}')
    assert isinstance(metrics_source(config, env, samples_file=samples), FileSource)
    config, env = _config(quickstart, {"monitor": {"url": "http://own-monitor:8090"}})
    source = metrics_source(config, env, default_monitor="http://monitor:8090")
    assert isinstance(source, MonitorSource) and source.url == "http://own-monitor:8090"
    config, env = _config(quickstart, {})
    source = metrics_source(config, env, default_monitor="http://monitor:8090")
    assert isinstance(source, MonitorSource) and source.url == "http://monitor:8090"
    with pytest.raises(InputError) as caught:
        metrics_source(config, env)
    assert caught.value.exit_code == 2
    assert all(s in str(caught.value) for s in ("deploy.monitor.url", "deploy.prometheus.url", "--metrics-file", "MLPIPEX_METRICS_URL"))
