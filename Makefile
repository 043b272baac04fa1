# One-command set-up: `make run` grades the bundled examples, `make test` runs the checks.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install run test lint bench clean

install: $(STAMP)
	@command -v bwrap >/dev/null 2>&1 || { \
	  echo "installing bubblewrap (the sandbox)"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq bubblewrap; }
	@{ test -x /usr/bin/chromium && fc-list :lang=ja 2>/dev/null | grep -q .; } || { \
	  echo "installing Debian's chromium and a Japanese font (the browser tests)"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium fonts-ipafont-gothic; }

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $(STAMP)

run: install
	$(VENV)/bin/grader grade --assignment backprop assignments/backprop/examples

lint: install
	$(VENV)/bin/ruff check .

test: install lint
	$(VENV)/bin/pytest -q

bench: install
	$(PY) benchmarks/grade_examples.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
