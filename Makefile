# cnnviz: the two commands a new user needs are `make run` and `make test`.
# Each creates the virtual environment (.venv) and installs what it needs first.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8501
# Offline machines keep the official MNIST/KMNIST test splits in ../shared/data.
SHARED_DATA := $(abspath ../shared/data)
export CNNVIZ_DATA_DIR ?= $(if $(wildcard $(SHARED_DATA)),$(SHARED_DATA),)
export TF_CPP_MIN_LOG_LEVEL ?= 2
# Some machines (this project's CI among them) set PYTHONDONTWRITEBYTECODE=1, so every Python process compiled
# cnnviz and the tests again, and pytest rewrote every test file's asserts again: collecting the unit and app tests
# took 11.2 CPU-s per process, 7.0 with the caches (.gitignore keeps them out of git). `make test` starts about
# thirty such processes (xdist workers, training children, Streamlit servers).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: run test test-fast lint bench load-test reliability models venv clean

$(VENV)/.runtime: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(VENV)/.dev

## Set up and start the studio on http://localhost:$(PORT)
run: $(VENV)/.runtime
	$(PY) -m streamlit run app.py --server.port $(PORT)

## Set up and run every check: the import rule, ruff, then unit, app (AppTest) and end-to-end (Chromium) tests.
## They run in TEST_WORKERS processes (pytest-xdist): one starts with the browser tests, one at a time against one
## server, while the other runs the unit and app tests one file at a time (so a module's fixtures, a Ray cluster,
## start once); then both share what is left. The browser tests wait on their pages half the time, which the
## unit tests fill (tests/support/scheduling.py). A third process on 2 cores was no faster and slowed single
## tests up to 20-fold.
TEST_WORKERS ?= 2
test: lint
	$(PY) -m pytest tests -q -n $(TEST_WORKERS) --dist loadfile --durations=25 --junitxml=test-artifacts/junit.xml

## Only the fast layers (unit and app, no `slow` tests), for quick feedback while editing
FAST_WORKERS ?= 2
test-fast: $(VENV)/.dev
	$(PY) -m pytest tests/unit tests/app -q -m "not slow" -n $(FAST_WORKERS) --dist loadfile --durations=10

## The import rule (import-linter contracts in pyproject.toml) and ruff
lint: $(VENV)/.dev
	$(VENV)/bin/lint-imports --no-cache --no-logo
	$(VENV)/bin/ruff check .

## Speed and memory benchmarks (print their numbers; not part of the tests)
bench: $(VENV)/.dev
	@failed=0; for script in benchmarks/bench_*.py; do echo "== $$script"; $(PY) $$script || failed=1; done; exit $$failed

## A classroom against one server (12 Chromium sessions, 8 of them training), then memory over 20 trainings in a
## row: local backend only; `make load-test BACKEND=ray` runs it on a local Ray cluster started for the run
load-test: $(VENV)/.dev
	$(PY) benchmarks/load_test.py $(if $(BACKEND),--backend $(BACKEND),)

## Run the reliability tests and write RELIABILITY.md (after load-test, to include its figures)
reliability: $(VENV)/.dev
	$(PY) -m tools.reliability_report --run

## Re-train the shipped default models in models/, as training jobs (the code of `python -m cnnviz train`);
## `make models BACKEND=ray` trains them on the Ray cluster of CNNVIZ_RAY_ADDRESS
models: $(VENV)/.runtime
	$(PY) -m tools.train_default_models $(if $(BACKEND),--backend $(BACKEND),)

.PHONY: cluster cluster-stop
RAY_PORT ?= 6379
## A Ray head on this machine for the studio's trainings (issue 12): bound to 127.0.0.1 only (Ray's local-only
## mode), token authentication on (the token is ~/.ray/auth_token), no dashboard. RAY_CPUS=N caps its cores.
cluster: $(VENV)/.runtime
	@test -s $(HOME)/.ray/auth_token || $(VENV)/bin/ray get-auth-token --generate >/dev/null
	RAY_AUTH_MODE=token RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 $(VENV)/bin/ray start --head --port $(RAY_PORT) \
		--node-ip-address 127.0.0.1 --include-dashboard false --disable-usage-stats $(if $(RAY_CPUS),--num-cpus $(RAY_CPUS))
	@echo
	@echo "Ray head running at 127.0.0.1:$(RAY_PORT) (this machine only; token authentication on)."
	@echo "Point the studio at it:   CNNVIZ_RAY_ADDRESS=auto make run"
	@echo "  (or ray://127.0.0.1:10001, Ray Client: the studio then outlives a restart of this head; see SCALING.md)"
	@echo "Stop it:                  make cluster-stop"

## Stop the Ray head of `make cluster` (`ray stop`: every Ray process of this user on this machine)
cluster-stop: $(VENV)/.runtime
	$(VENV)/bin/ray stop

clean:
	rm -rf $(VENV) test-artifacts .pytest_cache
