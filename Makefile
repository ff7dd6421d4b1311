# Quire: `make demo` to try it, `make test` to check it. See README.md.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
MYSQL_TEST_URL ?= mysql+pymysql://root@127.0.0.1:3306/test
REDIS_TEST_URL ?= redis://127.0.0.1:6379/15
# Test processes (pytest-xdist); browser tests always run one at a time after the rest.
# Tests that must not run beside each other share `@pytest.mark.xdist_group("name")`.
JOBS ?= 2
XDIST := -n $(JOBS) --dist loadgroup
# The exact versions CI and `make install` use; `make lock` writes it from pyproject.toml.
LOCK := requirements.lock
EDITABLE := -e ".[test]" -e ./plugins/quire-erp-ledger -e ./plugins/quire-hr-directory
UV = $(if $(wildcard $(BIN)/uv),$(BIN)/uv,uv)

.PHONY: install lock demo serve test test-postgres test-redis test-browser test-all lint typecheck format bench vendor translations clean

# Dependencies from the lock, then Quire and its two plugins as editable installs without
# their dependencies (the lock has them all). `pip install .` still works from pyproject.toml.
$(STAMP): $(LOCK) pyproject.toml plugins/quire-erp-ledger/pyproject.toml plugins/quire-hr-directory/pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check uv || true
	if [ -x $(BIN)/uv ]; then $(BIN)/uv pip install -q --python $(BIN)/python -r $(LOCK) && $(BIN)/uv pip install -q --python $(BIN)/python --no-deps $(EDITABLE); \
	else $(BIN)/python -m pip install -q -r $(LOCK) && $(BIN)/python -m pip install -q --no-deps $(EDITABLE); fi
	touch $(STAMP)

install: $(STAMP)

# Re-resolve the lock after a change to a dependency in pyproject.toml (a plugin's too):
# versions already locked are kept while they still fit; `make lock UPGRADE=1` takes the
# newest allowed versions of everything. Commit requirements.lock with the change.
lock:
	printf -- '-e .[test]\n-e ./plugins/quire-erp-ledger\n-e ./plugins/quire-hr-directory\n' | \
	$(UV) pip compile - -q -o $(LOCK) --python-version 3.11 $(if $(UPGRADE),--upgrade) \
		--no-emit-package quire --no-emit-package quire-erp-ledger --no-emit-package quire-hr-directory \
		--custom-compile-command "make lock"

demo: $(STAMP)
	$(BIN)/quire demo

serve: $(STAMP)
	$(BIN)/quire serve

# The full local suite on SQLite: on $(JOBS) processes, then the browser tests (they run
# when Chromium is installed) one at a time, each with its own server and Chromium.
test: $(STAMP)
	$(BIN)/python -m pytest $(XDIST) -m "not browser"
	$(BIN)/python -m pytest -m browser

# Only the tests that reach the database (--db-only, see tests/conftest.py): the others
# already ran in `make test` and do not depend on the database server.
test-postgres: $(STAMP)
	QUIRE_TEST_DATABASE_URL=$(PG_TEST_URL) QUIRE_TEST_MYSQL_URL=$(MYSQL_TEST_URL) $(BIN)/python -m pytest $(XDIST) --db-only -m "not browser and not slow"

test-redis: $(STAMP)
	QUIRE_TEST_REDIS_URL=$(REDIS_TEST_URL) $(BIN)/python -m pytest -m redis

test-browser: $(STAMP)
	QUIRE_REQUIRE_BROWSER=1 $(BIN)/python -m pytest -m browser

test-all: test test-postgres test-redis

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# mypy sees the folders under their installed names (quire.runtime, …) through a folder of
# links, since the editable install maps them with an import hook that mypy cannot follow.
typecheck: $(STAMP)
	@mkdir -p .typecheck/quire
	@for d in designer runtime widgets plugins report_templates; do ln -sfn ../../$$d .typecheck/quire/$$d; done
	@ln -sfn ../../plugins/testing .typecheck/quire/testing
	$(BIN)/mypy -p quire.designer -p quire.runtime

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
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .typecheck
