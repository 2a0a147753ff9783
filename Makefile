# Every target sets itself up: a virtualenv in .venv with the pinned dependencies.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo serve test lint typecheck imports unit browser bench bench-console reliability mutation mutation-report clean

$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "nodedc-gateway needs Python 3.11 or newer; run with PYTHON=/path/to/python3.11"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev]'
	@touch $(STAMP)

## Run the gateway on the embedded default (SQLite + sandbox Tasker) with a demo agent.
demo: $(STAMP)
	$(BIN)/nodedc-gateway demo

serve: $(STAMP)
	$(BIN)/nodedc-gateway serve

## The whole test suite with its quality gates; CI runs exactly this.
test: $(STAMP) lint typecheck imports unit

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

imports: $(STAMP)
	$(BIN)/lint-imports

unit: $(STAMP) browser
	$(BIN)/pytest --hypothesis-profile=ci

## Debian's chromium for the owner console's browser tests (Playwright drives it; never
## `playwright install`). Under CI as root it is installed; otherwise those tests skip.
browser:
	@test -x /usr/bin/chromium || { \
		if [ -n "$$CI" ] && [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium; \
		else \
			echo "chromium is missing: the console's browser tests will skip (apt-get install chromium)"; \
		fi; }

## The reliability suite (docs/operations.md): schemathesis, the MCP conformance suites,
## load, faults, two replicas, the real Plane and the real Codex and Claude Code. It ends
## with a "reliability figures" section; `.ci/run` runs it after `make test`.
## (-m "" lifts pyproject's `-m "not reliability"`: every test under tests/reliability runs.)
reliability: $(STAMP)
	$(BIN)/pytest -m "" tests/reliability

## Mutation testing of the rule modules (docs/mutation.md): mutmut on one worker, then the
## score per module and the survivors not listed in tests/mutation_equivalents.txt; fails
## below 95 %. MUTANTS narrows the run to a glob of mutant names, e.g.
## `make mutation MUTANTS='nodedc_gateway.domain.scopes*'` (to work on one module: the report then
## counts every mutant not run as unchecked and fails; the score that counts is a full run).
MUTANTS ?=
## Under CI mutmut's progress line (redrawn per mutant) goes to .cache/mutmut.log instead.
mutation: $(STAMP)
ifdef CI
	@mkdir -p .cache
	$(BIN)/mutmut run --max-children 1 $(if $(MUTANTS),'$(MUTANTS)') > .cache/mutmut.log 2>&1 \
		|| { tail -c 4000 .cache/mutmut.log; exit 1; }
else
	$(BIN)/mutmut run --max-children 1 $(if $(MUTANTS),'$(MUTANTS)')
endif
	$(MAKE) --no-print-directory mutation-report

mutation-report: $(STAMP)
	$(BIN)/python -m tests.mutation_report

bench: $(STAMP)
	$(BIN)/python -m bench

## The owner console's page renders on the embedded default (p50 target: 100 ms).
bench-console: $(STAMP)
	$(BIN)/python -m bench --console

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis mutants
