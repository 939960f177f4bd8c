"""TensorFlow for these tests, from its own cached venv (.venv-tensorflow; see tests/_framework_venv.py)."""

from __future__ import annotations

import os

from _framework_venv import add_framework, skip_without

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter stays out of the test log
FOLDER = add_framework("tensorflow", ".venv-tensorflow")


def pytest_collection_modifyitems(config, items):  # type: ignore[no-untyped-def]
    skip_without("tensorflow", FOLDER, items, "tensorflow_formats")
