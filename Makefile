# The two commands README.md opens with:
#   make demo   gates on the bundled quickstart example (no cluster, GitHub or registry needed)
#   make test   everything the tests need, then the whole suite
# Both work on a fresh Debian machine with Python 3.11, as root.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python

.PHONY: demo test e2e lint benchmarks clean

$(PY):
	@PYTHON=$(PYTHON) scripts/bootstrap-venv.sh $(VENV)

$(VENV)/.demo-installed: pyproject.toml examples/quickstart/requirements.txt | $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check -e . -r examples/quickstart/requirements.txt
	@touch $@

demo: $(VENV)/.demo-installed
	$(VENV)/bin/mlpipex gate -c examples/quickstart/mlpipex.yaml

# The end-to-end loop alone (make test runs it with everything else).
e2e: | $(PY)
	scripts/test.sh tests/e2e

test: | $(PY)
	@scripts/test.sh

lint: | $(PY)
	$(VENV)/bin/ruff check core app tests benchmarks examples
	$(VENV)/bin/mypy core app

benchmarks: | $(PY)
	$(PY) benchmarks/latency_fidelity.py
	$(PY) benchmarks/gate_walltime.py

clean:
	rm -rf .mlpipex build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
