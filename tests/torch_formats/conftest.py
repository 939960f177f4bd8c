"""PyTorch for these tests, from its own cached venv (.venv-torch; see tests/_framework_venv.py)."""

from __future__ import annotations

from _framework_venv import add_framework, skip_without

FOLDER = add_framework("torch", ".venv-torch")


def pytest_collection_modifyitems(config, items):  # type: ignore[no-untyped-def]
    skip_without("torch", FOLDER, items, "torch_formats")
