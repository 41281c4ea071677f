# Fresh machine: `make serve` starts Labelgraph on SQLite (`make serve PORT=8081 HOST=0.0.0.0` to
# choose where it listens); `make test` runs the whole suite.
PYTHON ?= python3
PORT ?= 8080
HOST ?= 127.0.0.1
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
	$(BIN)/labelgraph serve --host $(HOST) --port $(PORT)

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q

# The next Alembic migration, generated from the models: make migration MESSAGE="add webhooks"
migration: $(STAMP)
	$(BIN)/python -m core.db.autogenerate $(MESSAGE)

.PHONY: install serve test migration
