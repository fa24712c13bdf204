# Two commands do all set-up on a fresh machine:
#   make demo   install, queue the example release, run the daemon in dry-run, show the result
#   make test   install (with test tools, PostgreSQL and Chromium if missing), run every test
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
DEMO   := .siar-demo

.PHONY: install bytecode demo test lint bench clean messages

$(BIN)/siar: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $(BIN)/siar

install: $(BIN)/siar bytecode

# The editable install leaves our sources uncompiled, and with PYTHONDONTWRITEBYTECODE=1 (as
# in CI) Python never caches them: every `siar` would recompile them, about 300 ms of each
# start. A wheel install compiles at install time; this does the same. compileall skips
# files whose bytecode is up to date, so the step is cheap and always runs.
bytecode: $(BIN)/siar
	@$(BIN)/python -m compileall -q scheduler channels

demo: install
	@rm -rf $(DEMO) && mkdir -p $(DEMO)
	SIAR_HOME=$(DEMO) $(BIN)/siar --config config/demo.toml db upgrade
	SIAR_HOME=$(DEMO) $(BIN)/siar --config config/demo.toml preview config/example-release.md
	SIAR_HOME=$(DEMO) $(BIN)/siar --config config/demo.toml add config/example-release.md --at now
	SIAR_HOME=$(DEMO) $(BIN)/siar --config config/demo.toml daemon --dry-run --until-drained
	SIAR_HOME=$(DEMO) $(BIN)/siar --config config/demo.toml history

test: install
	@bash scripts/test-setup
	$(BIN)/ruff check scheduler channels tests bench
	$(BIN)/python -m pytest -q -n auto --dist loadfile -m "not alone"
	$(BIN)/python -m pytest -q -m alone

bench: install
	$(BIN)/python -m bench.run

# Messages for people: extract the English ids, merge them into the Indonesian catalog
# (translate what is new in channels/locale/id/LC_MESSAGES/siar.po), compile siar.mo.
LOCALE := channels/locale
messages: install
	$(BIN)/pybabel extract --no-location --sort-output -F babel.cfg -k _ -k N_ \
		-k ngettext:1,2 -o $(LOCALE)/siar.pot scheduler channels
	$(BIN)/pybabel update --no-fuzzy-matching -D siar -l id -i $(LOCALE)/siar.pot \
		-d $(LOCALE)
	$(BIN)/pybabel compile -D siar -l id -d $(LOCALE)

lint: install
	$(BIN)/ruff check scheduler channels tests bench

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache .ruff_cache .hypothesis
