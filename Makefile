# Quire: `make demo` to try it, `make test` to check it. See README.md.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
MYSQL_TEST_URL ?= mysql+pymysql://root@127.0.0.1:3306/test
REDIS_TEST_URL ?= redis://127.0.0.1:6379/15

.PHONY: install demo serve test test-postgres test-redis test-browser test-all lint format bench vendor translations clean

$(STAMP): pyproject.toml plugins/quire-erp-ledger/pyproject.toml plugins/quire-hr-directory/pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check uv || true
	if [ -x $(BIN)/uv ]; then $(BIN)/uv pip install -q --python $(BIN)/python -e ".[test]" -e ./plugins/quire-erp-ledger -e ./plugins/quire-hr-directory; \
	else $(BIN)/python -m pip install -q -e ".[test]" -e ./plugins/quire-erp-ledger -e ./plugins/quire-hr-directory; fi
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/quire demo

serve: $(STAMP)
	$(BIN)/quire serve

# The full local suite on SQLite (browser tests run when Chromium is installed).
test: $(STAMP)
	$(BIN)/python -m pytest

test-postgres: $(STAMP)
	QUIRE_TEST_DATABASE_URL=$(PG_TEST_URL) QUIRE_TEST_MYSQL_URL=$(MYSQL_TEST_URL) $(BIN)/python -m pytest -m "not browser and not slow"

test-redis: $(STAMP)
	QUIRE_TEST_REDIS_URL=$(REDIS_TEST_URL) $(BIN)/python -m pytest -m redis

test-browser: $(STAMP)
	QUIRE_REQUIRE_BROWSER=1 $(BIN)/python -m pytest -m browser

test-all: test test-postgres test-redis

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .

# The ledger export benchmark builds a SQLite ledger of 1,000,000 lines in ~/.cache/quire once
# (PostgreSQL with QUIRE_BENCH_DATABASE_URL).
# Report query benchmark needs PostgreSQL (QUIRE_BENCH_DATABASE_URL; it builds quire_bench once).
# The load benchmark needs wrk (apt); it adds a PostgreSQL run with QUIRE_BENCH_LOAD_DATABASE_URL.
bench: $(STAMP)
	$(BIN)/python bench/exports.py
	$(BIN)/python bench/report_query.py
	$(BIN)/python bench/ledger_export.py
	$(BIN)/python bench/load.py

vendor:
	runtime/static/vendor/vendor.sh

# Extract, update and compile the zh_CN catalogue.
translations: $(STAMP)
	$(BIN)/pybabel extract -F runtime/babel.cfg -k _l -k lazy_pgettext:1c,2 -k field_error -o runtime/translations/messages.pot runtime designer widgets plugins
	$(BIN)/pybabel update -i runtime/translations/messages.pot -d runtime/translations --no-fuzzy-matching
	$(BIN)/pybabel compile -d runtime/translations

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
