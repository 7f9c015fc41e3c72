# One front door: make run | make test | make i18n | make lint | make bench | make lock | make wheel
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# Installs come from the locks in requirements/ (exact versions with hashes, made by `make lock`):
# `make run` installs the runtime lock only, `make test` adds the test tools.
RUNTIME_STAMP := $(VENV)/.installed-runtime
STAMP := $(VENV)/.installed
PIP_INSTALL := $(BIN)/pip install --progress-bar off
export GRANTS_INSTANCE_DIR ?= $(CURDIR)/instance

.PHONY: run test i18n lint system-deps venv clean bench bench-phone compile lock wheel

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) --upgrade pip 'setuptools>=68' wheel

# The app itself is installed editable without build isolation: its build needs only setuptools
# and babel, both already there, so nothing else is fetched.
$(RUNTIME_STAMP): requirements/runtime.lock pyproject.toml setup.py | $(BIN)/python
	@echo "== installing the runtime dependencies (requirements/runtime.lock)"
	$(PIP_INSTALL) --require-hashes -r requirements/runtime.lock
	$(PIP_INSTALL) --no-deps --no-build-isolation -e .
	touch $@

$(STAMP): requirements/test.lock $(RUNTIME_STAMP)
	@echo "== installing the test tools (requirements/test.lock)"
	$(PIP_INSTALL) --require-hashes -r requirements/test.lock
	touch $@

venv: $(STAMP)

# Regenerate the locks from pyproject.toml (Python 3.11 on Linux, the deployment's platform).
PIP_COMPILE := $(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links --no-build-isolation
lock: $(STAMP)
	$(PIP_COMPILE) --extra deploy --output-file requirements/runtime.lock pyproject.toml
	$(PIP_COMPILE) --extra test --extra deploy --output-file requirements/test.lock pyproject.toml

# The wheel (with templates, compiled catalogs, migrations and static files inside) and the sdist in dist/.
wheel: $(STAMP)
	$(BIN)/python -m build --no-isolation --outdir dist .

# Debian packages: Chromium for browser tests, Pango/HarfBuzz for WeasyPrint, fonts with every
# Kazakh letter; redis-server (tests start private ones to stop) and pg_dump/pg_restore (backup).
# Installed only when missing (needs root or sudo).
SYSTEM_PACKAGES := chromium fonts-dejavu-core libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 redis-server postgresql-client-15
system-deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

translations/%/LC_MESSAGES/messages.mo: translations/%/LC_MESSAGES/messages.po | $(RUNTIME_STAMP)
	$(BIN)/pybabel -q compile -d translations -l $*

compile: $(RUNTIME_STAMP)
	$(BIN)/pybabel -q compile -d translations

i18n: $(STAMP)
	$(BIN)/pybabel -q extract --ignore-dirs=".* .venv node_modules" -F babel.cfg -k _l -k lazy_gettext -k lazy_pgettext:1c,2 --no-location --sort-output -o translations/messages.pot .
	$(BIN)/pybabel -q update -i translations/messages.pot -d translations --no-fuzzy-matching --ignore-obsolete
	$(BIN)/python scripts/glossary_comments.py
	$(BIN)/pybabel -q compile -d translations
	$(BIN)/python -m grants.i18n_check translations

lint: $(STAMP)
	$(BIN)/ruff check grants worker tests setup.py

run: $(RUNTIME_STAMP) compile
	$(BIN)/grants db upgrade
	$(BIN)/grants seed-demo --if-empty
	$(BIN)/python -m grants.devserver

# axe-core (from the npm registry, pinned in package-lock.json) for the accessibility test.
node_modules/axe-core/axe.min.js: package.json package-lock.json
	npm ci --silent --no-audit --no-fund
	touch $@

# Two pytest workers (pytest-xdist), one test file each at a time: the suite is mostly waiting
# on PostgreSQL and Chromium, so two processes keep both cores busy. TEST_WORKERS=0 runs in one.
TEST_WORKERS ?= 2
test: $(STAMP) system-deps compile lint node_modules/axe-core/axe.min.js
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) instance .pytest_cache build dist

# BENCH_ARGS=--fresh-run also times `make run` on a fresh copy (minutes); --only SECTION, see bench/run.py --help.
bench: $(STAMP) compile
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# The lead applicant's whole task in Chromium on a throttled phone (256/128 kbit/s, 800 ms), on a
# fresh SQLite demo instance: page loads, network wait, seconds, bytes -> bench/results-phone.json
# (BENCH_PHONE_ARGS="--label after", "--code /tmp/before --label before", "--base-url http://...").
bench-phone: $(STAMP) compile
	$(BIN)/python bench/phone_apply.py $(BENCH_PHONE_ARGS)
