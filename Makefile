# HeadPose Studio: `make run` serves the app for development, `make serve` for production
# (gunicorn + Celery workers per queue), `make test` runs the whole suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: run serve test test-js lint lint-js install browser bench clean load-tools

$(INSTALLED): requirements.txt requirements/*.txt
	# an interrupted earlier run can leave a venv without pip: make it again
	test -x $(BIN)/pip || $(PYTHON) -m venv --clear $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q -r requirements.txt
	# mediapipe's declared deps pull jax (600 MB) that FaceMesh never imports.
	$(BIN)/pip install --disable-pip-version-check -q --no-deps -r requirements/mediapipe.txt
	touch $@

install: $(INSTALLED)

# The load test's tool (bench/bench_load.py): locust in its own venv, pinned in requirements/load.txt.
LOAD_INSTALLED := .venv-load/.installed
$(LOAD_INSTALLED): requirements/load.txt
	test -x .venv-load/bin/pip || $(PYTHON) -m venv --clear .venv-load
	.venv-load/bin/pip install --disable-pip-version-check -q -r requirements/load.txt
	touch $@

load-tools: $(LOAD_INSTALLED)

# Headless Chromium for the browser tests (Debian package; never a downloaded build).
browser:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "Install Chromium first: sudo apt-get install chromium" >&2; exit 1; fi; }

run: install
	$(BIN)/python -m tools.devserver

# Production: gunicorn (WEB_CONCURRENCY processes), whitenoise, a Celery worker per queue (tools/serve.py).
serve: install
	$(BIN)/python -m tools.serve

# The editor's JS unit tests: Node's own runner (Node 20+), no npm packages.
test-js:
	node --test --test-reporter=spec tests/js/*.test.mjs

# ESLint on the JS, at the versions pinned in package.json/package-lock.json (npm ci, again when they change).
NODE_INSTALLED := node_modules/.installed

$(NODE_INSTALLED): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

lint-js: $(NODE_INSTALLED)
	npx --no-install eslint static/js tests/js

# Python: ruff (rules in pyproject.toml) and mypy (strict on workers/core, see pyproject.toml), then the JS.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(MAKE) lint-js

# The whole suite, lint first, on every core (pytest-xdist: each worker process has its own test
# database, Celery worker, live server and Chromium; an idle worker steals queued tests from a busy one).
# TEST_JOBS=0 runs it in this one process.
TEST_JOBS ?= auto
test: install browser lint test-js
	$(BIN)/python -m pytest -n $(TEST_JOBS) --dist worksteal $(PYTEST_ARGS)

# bench_vs_label_studio.py installs Label Studio into a throw-away venv and needs PostgreSQL: run it by hand.
bench: install
	for script in $(filter-out bench/bench_vs_label_studio.py,$(wildcard bench/bench_*.py)); do \
	  echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) data/staticfiles
