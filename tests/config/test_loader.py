"""mlpipex.yaml errors name file:line:column, the key, and a fix."""

from __future__ import annotations

import json
from pathlib import Path
from textwrap import dedent

import jsonschema
import pytest
import yaml

from mlpipex.config import Config, json_schema, json_schema_text, load_config, parse_threshold
from mlpipex.config.thresholds import ThresholdSyntaxError
from mlpipex.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]

MINIMAL = """\
apiVersion: mlpipex/v1
model:
  name: demo
  version: 1.0.0
  path: model.onnx
data:
  holdout: holdout.csv
  label: y
"""


def load(write_config, text: str, **kwargs) -> Config:
    return load_config(write_config(dedent(text)), check_files=False, **kwargs)


def problems(write_config, text: str, **kwargs) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load(write_config, text, **kwargs)
    return [str(p) for p in info.value.problems] or [str(info.value)]


def test_minimal_config_gets_defaults(write_config):
    config = load(write_config, MINIMAL)
    assert config.model.name == "demo"
    assert config.model.task == "classification"
    assert config.gates.latency.threads == 1
    assert config.gates.smoke.enabled and config.gates.schema_.enabled


def test_resolve_is_relative_to_the_config_file(write_config, tmp_path):
    config = load(write_config, MINIMAL)
    assert config.resolve("model.onnx") == (tmp_path / "model.onnx").resolve()


def test_unknown_key_names_line_column_and_suggests(write_config):
    text = MINIMAL + "gates:\n  latncy:\n    threads: 2\n"
    [problem] = problems(write_config, text)
    assert "mlpipex.yaml:10:3: unknown key `latncy` in `gates`" in problem
    assert "did you mean `latency`?" in problem


def test_unknown_nested_key_points_at_the_key(write_config):
    text = MINIMAL + "gates:\n  latency:\n    iteratoins: 5\n"
    [problem] = problems(write_config, text)
    assert ":11:5: unknown key `iteratoins` in `gates.latency`" in problem
    assert "did you mean `iterations`?" in problem


def test_wrong_type_names_value_position(write_config):
    text = MINIMAL + "gates:\n  latency:\n    iterations: many\n"
    [problem] = problems(write_config, text)
    assert ":11:17: `gates.latency.iterations`" in problem
    assert "integer" in problem


def test_bad_threshold_expression(write_config):
    text = MINIMAL + 'gates:\n  smoke:\n    thresholds:\n      auc: "at least 0.9"\n'
    [problem] = problems(write_config, text)
    assert ":12:" in problem and "gates.smoke.thresholds" in problem
    assert '">= 0.90"' in problem


def test_bare_number_threshold_is_ambiguous(write_config):
    text = MINIMAL + "gates:\n  smoke:\n    thresholds:\n      auc: 0.9\n"
    [problem] = problems(write_config, text)
    assert ">= 0.9" in problem and "<= 0.9" in problem


def test_unknown_metric_suggests(write_config):
    text = MINIMAL + 'gates:\n  smoke:\n    thresholds:\n      acuracy: ">= 0.9"\n'
    [problem] = problems(write_config, text)
    assert ":12:7:" in problem
    assert "`acuracy` is not a classification metric" in problem
    assert "did you mean `accuracy`?" in problem


def test_regression_metric_on_classification_task(write_config):
    text = MINIMAL + 'gates:\n  compare:\n    metrics:\n      rmse: {max_regression: 0.1}\n'
    [problem] = problems(write_config, text)
    assert "`rmse` is not a classification metric" in problem


def test_missing_required_key_points_at_its_section(write_config):
    text = MINIMAL.replace("  version: 1.0.0\n", "")
    [problem] = problems(write_config, text)
    assert ":2:1: missing required key `version` in `model`" in problem


def test_missing_api_version(write_config):
    [problem] = problems(write_config, "\n".join(MINIMAL.splitlines()[1:]) + "\n")
    assert "missing required key `apiVersion`" in problem and "mlpipex/v1" in problem


def test_wrong_api_version_suggests(write_config):
    [problem] = problems(write_config, MINIMAL.replace("mlpipex/v1", "mlpipex/v2"))
    assert ":1:13:" in problem and "mlpipex/v1" in problem


def test_literal_typo_suggests(write_config):
    text = MINIMAL.replace("  path: model.onnx\n", "  path: model.onnx\n  task: clasification\n")
    [problem] = problems(write_config, text)
    assert ":6:9:" in problem and "did you mean `classification`?" in problem


def test_all_problems_reported_at_once(write_config):
    text = MINIMAL + "gates:\n  latncy: {}\n  smoke:\n    batch_size: -1\nbogus: 1\n"
    found = problems(write_config, text)
    assert len(found) == 3
    assert any("latncy" in p for p in found)
    assert any("batch_size" in p for p in found)
    assert any("bogus" in p for p in found)


def test_yaml_syntax_error_has_position(write_config):
    text = MINIMAL + "gates:\n  latency: [1, 2\n"
    with pytest.raises(ConfigError) as info:
        load(write_config, text)
    assert "invalid YAML" in str(info.value)
    assert ":11:" in str(info.value) or ":10:" in str(info.value)


def test_duplicate_keys_are_an_error(write_config):
    text = MINIMAL + "gates:\n  unit: false\n  unit: true\n"
    [problem] = problems(write_config, text)
    assert ":11:3: duplicate key `unit`" in problem
    assert "line 10" in problem


def test_top_level_must_be_a_mapping(write_config):
    [problem] = problems(write_config, "- just\n- a list\n")
    assert "mapping" in problem


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.yaml")
    assert "config file not found" in str(info.value) and "fix:" in str(info.value)


def test_env_interpolation(write_config):
    text = MINIMAL.replace("1.0.0", "${MODEL_VERSION}") + "gates:\n  latency:\n    threads: ${THREADS:-3}\n"
    config = load(write_config, text, environ={"MODEL_VERSION": "2.0.1"})
    assert config.model.version == "2.0.1"
    assert config.gates.latency.threads == 3


def test_env_interpolation_missing_variable(write_config):
    text = MINIMAL.replace("1.0.0", "${MODEL_VERSION}")
    [problem] = problems(write_config, text, environ={})
    assert ":4:12:" in problem and "MODEL_VERSION is not set" in problem


def test_env_interpolation_escape_and_only_environment(write_config):
    text = MINIMAL.replace("1.0.0", "$${NOT_A_VAR}")
    assert load(write_config, text, environ={}).model.version == "${NOT_A_VAR}"


def test_gate_bool_shorthand(write_config):
    config = load(write_config, MINIMAL + "gates:\n  unit: false\n  latency: false\n")
    assert not config.gates.unit.enabled and not config.gates.latency.enabled


def test_unit_command_must_be_a_list(write_config):
    [problem] = problems(write_config, MINIMAL + "gates:\n  unit:\n    command: pytest -q\n")
    assert "not a shell string" in problem and "['pytest', '-q']" in problem


def test_unit_command_needs_a_junit_report(write_config):
    [problem] = problems(write_config, MINIMAL + "gates:\n  unit:\n    command: [pytest]\n")
    assert "{junit}" in problem


def test_later_sections_reject_garbage(write_config):
    [problem] = problems(write_config, MINIMAL + "deploy:\n  replica: lots\n")
    assert "unknown key `replica` in `deploy`" in problem and "did you mean `replicas`?" in problem
    [problem] = problems(write_config, MINIMAL + "monitoring: 5\n")
    assert "monitoring" in problem


def test_relative_regression_limits(write_config):
    text = MINIMAL + 'gates:\n  compare:\n    metrics:\n      auc: {max_regression: "2%"}\n      f1: {max_regression: 0.01}\n'
    config = load(write_config, text)
    auc, f1 = config.gates.compare.metrics["auc"], config.gates.compare.metrics["f1"]
    assert auc.relative and auc.amount == pytest.approx(0.02)
    assert not f1.relative and f1.amount == 0.01
    [problem] = problems(write_config, text.replace('"2%"', '"lots"'))
    assert '"N%"' in problem


def test_latency_sla_needs_a_limit_and_unique_batches(write_config):
    [problem] = problems(write_config, MINIMAL + "gates:\n  latency:\n    sla: [{batch_size: 1}]\n")
    assert "at least one of p50, p95, p99" in problem
    [problem] = problems(
        write_config, MINIMAL + "gates:\n  latency:\n    sla: [{batch_size: 1, p50: 1}, {batch_size: 1, p99: 2}]\n"
    )
    assert "batch sizes repeat" in problem


def test_files_are_checked_when_asked(write_config):
    path = write_config(MINIMAL)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    text = str(info.value)
    assert ":5:9: the model file `model.onnx` does not exist" in text
    assert ":7:12: the holdout set `holdout.csv` does not exist" in text


@pytest.mark.parametrize(
    ("text", "value", "ok"),
    [(">= 0.9", 0.9, True), ("> 0.9", 0.9, False), ("<= 1e-3", 0.001, True), ("< 2", 3, False), ("== 1", 1.0, True)],
)
def test_thresholds(text, value, ok):
    assert parse_threshold(text).check(value) is ok


def test_threshold_nan_never_passes():
    assert not parse_threshold(">= 0").check(float("nan"))
    assert not parse_threshold("<= 1").check(float("nan"))


@pytest.mark.parametrize("text", ["0.9", ">=", "=> 0.9", ">= abc", "between 1 and 2", ""])
def test_bad_thresholds(text):
    with pytest.raises(ThresholdSyntaxError):
        parse_threshold(text)


def test_committed_schema_is_current():
    committed = ROOT / "schema" / "mlpipex.schema.json"
    assert committed.read_text(encoding="utf-8") == json_schema_text(), (
        "schema/mlpipex.schema.json is stale: run `mlpipex schema -o schema/mlpipex.schema.json`"
    )


def test_quickstart_validates_against_the_json_schema():
    data = yaml.safe_load((ROOT / "examples" / "quickstart" / "mlpipex.yaml").read_text())
    jsonschema.validate(data, json_schema())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**data, "bogus": 1}, json_schema())
    assert json.loads(json_schema_text())["title"] == "mlpipex.yaml"
