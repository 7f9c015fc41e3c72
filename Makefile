# One front door: make run | make test | make i18n | make lint | make bench
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export GRANTS_INSTANCE_DIR ?= $(CURDIR)/instance

.PHONY: run test i18n lint system-deps venv clean bench bench-phone compile

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

# Debian packages: Chromium for browser tests, Pango/HarfBuzz for WeasyPrint, fonts with every
# Kazakh letter. Installed only when missing (needs root or sudo).
SYSTEM_PACKAGES := chromium fonts-dejavu-core libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0
system-deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

translations/%/LC_MESSAGES/messages.mo: translations/%/LC_MESSAGES/messages.po | $(STAMP)
	$(BIN)/pybabel -q compile -d translations -l $*

compile: $(STAMP)
	$(BIN)/pybabel -q compile -d translations

i18n: $(STAMP)
	$(BIN)/pybabel -q extract --ignore-dirs=".* .venv node_modules" -F babel.cfg -k _l -k lazy_gettext -k lazy_pgettext:1c,2 --no-location --sort-output -o translations/messages.pot .
	$(BIN)/pybabel -q update -i translations/messages.pot -d translations --no-fuzzy-matching --ignore-obsolete
	$(BIN)/python scripts/glossary_comments.py
	$(BIN)/pybabel -q compile -d translations
	$(BIN)/python -m grants.i18n_check translations

lint: $(STAMP)
	$(BIN)/ruff check grants worker tests

run: $(STAMP) compile
	$(BIN)/flask --app grants db upgrade
	$(BIN)/flask --app grants seed-demo --if-empty
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
	rm -rf $(VENV) instance .pytest_cache

bench: $(STAMP) compile
	$(BIN)/pip install --quiet -e '.[test,bench]'
	$(BIN)/python bench/run.py

# The lead applicant's whole task in Chromium on a throttled phone (256/128 kbit/s, 800 ms), on a
# fresh SQLite demo instance: page loads, network wait, seconds, bytes -> bench/results-phone.json
# (BENCH_PHONE_ARGS="--label after", "--code /tmp/before --label before", "--base-url http://...").
bench-phone: $(STAMP) compile
	$(BIN)/python bench/phone_apply.py $(BENCH_PHONE_ARGS)
