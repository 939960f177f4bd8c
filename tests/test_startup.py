"""`mlpipex --help` starts fast: the CLI and every command's registration import no heavy library.

Checked by module, not by a timing: a subprocess builds the whole parser (what --help
does) and lists which of pydantic, numpy, ... ended up in sys.modules.
"""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("pydantic", "numpy", "yaml", "jinja2", "onnx", "onnxruntime", "scipy", "requests", "kubernetes", "fastapi")

_PROBE = """
import json, sys
import mlpipex.cli
mlpipex.cli.build_parser()  # every command module registers its subcommand, as --help does
print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & set(sys.argv[1:]))))
"""


def test_the_cli_and_its_parser_import_no_heavy_library() -> None:
    out = subprocess.run([sys.executable, "-c", _PROBE, *HEAVY], capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(out.stdout) == []


def test_help_exits_0_and_lists_the_commands() -> None:
    out = subprocess.run([sys.executable, "-m", "mlpipex", "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "gate" in out.stdout and "drift" in out.stdout


def test_the_public_api_still_resolves_lazily() -> None:
    probe = (
        "import sys, mlpipex\n"
        "assert 'pydantic' not in sys.modules\n"
        "from mlpipex import Config, load_config, run_gates, Status\n"
        "assert all(hasattr(mlpipex, name) for name in mlpipex.__all__)\n"
        "assert set(mlpipex.__all__) <= set(dir(mlpipex))\n"
        "assert Config.__module__.startswith('mlpipex.config') and Status.PASS\n"
        "try:\n    mlpipex.no_such_name\nexcept AttributeError as exc:\n    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "no attribute 'no_such_name'" in out.stdout
