# Fresh machine: `make serve` starts Labelgraph on SQLite; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

serve: $(STAMP)
	$(BIN)/labelgraph serve

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q

# Regenerate the initial migration from the models (pre-release only: nothing has shipped yet).
migration-regen: $(STAMP)
	rm -f core/db/migrations/versions/0001_*.py /tmp/labelgraph_regen.sqlite3
	$(BIN)/python -m core.db.regen

.PHONY: install serve test migration-regen
