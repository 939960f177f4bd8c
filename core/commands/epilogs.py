"""Examples and exit codes at the end of every ``--help`` (argparse epilogs), in one table.

Kept apart from the command modules so each stays about its options; cli.py
calls ``add_epilogs`` once the parser tree is built. A test parses every example
line below with the real parser, so an example cannot drift from the options.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator

__all__ = ["EXAMPLES", "EXIT_CODES", "add_epilogs", "subparsers"]

_OK = "0 done"
_BAD = "2 bad input or configuration (the message names the file, field or line, and a fix)"
_OUTSIDE = "3 an outside system failed (registry, Kubernetes, GitHub…)"

# command path → (examples, exit codes)
EXAMPLES: dict[tuple[str, ...], tuple[tuple[str, ...], tuple[str, ...]]] = {
    (): (("mlpipex init --model models/model.onnx --holdout data/holdout.csv",
          "mlpipex validate", "mlpipex gate", 'eval "$(mlpipex completion bash)"'),
         ("0 pass", "1 a gate failed", _BAD, _OUTSIDE)),
    ("gate",): (("mlpipex gate", "mlpipex gate -c models/fraud/mlpipex.yaml --only schema,smoke",
                 "mlpipex gate --fail-on warn --report-dir out/", "mlpipex gate --provider local --quiet"),
                ("0 every gate passed", "1 a gate failed (or warned, with --fail-on warn)", _BAD,
                 "3 an outside system failed (with --strict-report: the results could not be posted)")),
    ("validate",): (("mlpipex validate", "mlpipex validate -c models/fraud/mlpipex.yaml"),
                    ("0 valid (prints the gates that will run and when schedules fire next)", _BAD)),
    ("init",): (("mlpipex init --model models/model.onnx --holdout data/holdout.csv",
                 "mlpipex init --model model.onnx --holdout holdout.csv --label churned --name churn -o churn.yaml"),
                (_OK + ": the signature from the graph, label and features from the holdout; review it, "
                 "then run `mlpipex validate` and `mlpipex gate`", "2 bad input: the model or holdout cannot be read, "
                 "the label or features cannot be told (pass --label/--features), or the file exists (--force)")),
    ("completion",): (('eval "$(mlpipex completion bash)"      # in ~/.bashrc',
                       "mlpipex completion zsh > ~/.zfunc/_mlpipex    # with fpath+=~/.zfunc before compinit",
                       "mlpipex completion fish > ~/.config/fish/completions/mlpipex.fish"),
                      (_OK, "2 an unknown shell")),
    ("schema",): (("mlpipex schema > mlpipex.schema.json", "mlpipex schema -o schema/mlpipex.schema.json"),
                  (_OK,)),
    ("package",): (("mlpipex package", "mlpipex package --report .mlpipex/report/report.json"),
                   (_OK, "2 bad input (no passing gate report, unless --allow-ungated)", _OUTSIDE)),
    ("push",): (("mlpipex push --to ghcr.io/acme/models/fraud", "mlpipex push --to localhost:5000/fraud --insecure"),
                (_OK + " (prints REF@sha256:DIGEST)", _BAD, _OUTSIDE)),
    ("pull",): (("mlpipex pull ghcr.io/acme/models/fraud@sha256:<digest> -o ./fraud",),
                (_OK, "2 bad input (a bad reference, or a digest that does not match)", _OUTSIDE)),
    ("inspect",): (("mlpipex inspect ghcr.io/acme/models/fraud:1.4.0", "mlpipex inspect fraud:1.4.0 --json"),
                   (_OK, _BAD, _OUTSIDE)),
    ("tag",): (("mlpipex tag ghcr.io/acme/models/fraud@sha256:<digest> production",),
               (_OK, "2 bad input (moving a version tag needs --force)", _OUTSIDE)),
    ("deploy",): (("mlpipex deploy --env staging --artifact ghcr.io/acme/models/fraud@sha256:<digest>",
                   "mlpipex deploy --env production --artifact ghcr.io/acme/models/fraud@sha256:<digest> --canary 10",
                   "mlpipex deploy --env staging --artifact ghcr.io/acme/models/fraud@sha256:<digest> --dry-run"),
                  (_OK, _BAD, _OUTSIDE)),
    ("promote",): (("mlpipex promote --env production", "mlpipex promote --env production --to 50"),
                   (_OK, _BAD, _OUTSIDE)),
    ("rollback",): (("mlpipex rollback --env production",), (_OK, _BAD, _OUTSIDE)),
    ("status",): (("mlpipex status --env production", "mlpipex status --env production --json"),
                  (_OK, _BAD, _OUTSIDE)),
    ("canary",): (("mlpipex canary run --env production",), (_OK, "1 the canary was rolled back", _BAD, _OUTSIDE)),
    ("canary", "run"): (("mlpipex canary run --env production", "mlpipex canary run --env production --once",
                         "mlpipex canary run --env production --metrics-file samples.json --once"),
                        ("0 the canary advanced, held or reached 100%", "1 the canary was rolled back", _BAD, _OUTSIDE)),
    ("serve",): (("mlpipex serve", "mlpipex serve ghcr.io/acme/models/fraud@sha256:<digest> --http-port 9000"),
                 ("0 stopped cleanly", _BAD, _OUTSIDE)),
    ("app",): (("mlpipex app serve --host 0.0.0.0 --port 8000", "mlpipex app manifest --url https://mlpipex.example.com"),
               (_OK, _BAD)),
    ("app", "serve"): (("mlpipex app serve", "mlpipex app serve --host 0.0.0.0 --workers 4"), ("0 stopped cleanly", _BAD)),
    ("app", "manifest"): (("mlpipex app manifest --url https://mlpipex.example.com --name acme-mlpipex",),
                          (_OK, _BAD)),
    ("drift",): (("mlpipex drift --reference data/train.csv --current data/last-week.csv",
                  "mlpipex drift --reference ghcr.io/acme/models/fraud:1.4.0 --current data/last-week.csv --report-dir out/"),
                 ("0 no significant drift", "1 drift found", _BAD, _OUTSIDE)),
    ("monitor",): (("mlpipex monitor serve -c mlpipex.yaml --port 8090 --state /var/lib/mlpipex",),
                   ("0 stopped cleanly", _BAD, _OUTSIDE)),
    ("monitor", "serve"): (("mlpipex monitor serve -c mlpipex.yaml --port 8090 --state /var/lib/mlpipex",
                            "mlpipex monitor serve -c fraud.yaml -c churn.yaml --tokens tokens.yaml --metrics-auth"),
                           ("0 stopped cleanly", _BAD, _OUTSIDE)),
}
EXIT_CODES = {path: codes for path, (_, codes) in EXAMPLES.items()}


def subparsers(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every parser in the tree with its command path, the root first."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from subparsers(sub, (*path, name))


def _epilog(examples: tuple[str, ...], codes: tuple[str, ...]) -> str:
    lines = ["examples:", *(f"  {e}" for e in examples), "", "exit codes:", *(f"  {c}" for c in codes)]
    return "\n".join(lines)


def add_epilogs(parser: argparse.ArgumentParser) -> None:
    """Examples and exit codes under every command's --help (a command not in the table gets the general codes)."""
    for path, sub in subparsers(parser):
        examples, codes = EXAMPLES.get(path, ((), EXAMPLES[()][1]))
        sub.epilog = _epilog(examples, codes) if examples else _epilog(("mlpipex " + " ".join(path) + " --help",), codes)
        sub.formatter_class = argparse.RawDescriptionHelpFormatter  # keep the epilog's lines as written
