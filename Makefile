# One-command set-up: `make run` starts the grading service, `make test` runs the checks.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install run test lint bench clean

install: $(STAMP)
	@missing=""; \
	command -v bwrap >/dev/null 2>&1 || missing="$$missing bubblewrap"; \
	command -v redis-server >/dev/null 2>&1 || missing="$$missing redis-server"; \
	test -x /usr/bin/chromium || missing="$$missing chromium"; \
	fc-list :lang=ja 2>/dev/null | grep -q . || missing="$$missing fonts-ipafont-gothic"; \
	if [ -n "$$missing" ]; then \
	  echo "installing$$missing (the sandbox; the service's private broker; the browser tests)"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq $$missing; fi
	@# bytecode for the project's own modules, as pip makes for packages: an editable install has none, and
	@# where PYTHONDONTWRITEBYTECODE is set every command and worker would compile ~0.15 s of source anew
	@$(PY) -m compileall -q grader service workers reference >/dev/null

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $(STAMP)

run: install
	$(VENV)/bin/grader serve

lint: install
	$(VENV)/bin/ruff check .

# Two pytest processes (the machine's two cores: most tests wait on sandboxes, services and timeouts), a module
# at a time (tests/conftest.py: pytest_xdist_make_scheduler); then the tests marked `alone`, by themselves.
test: install lint
	$(VENV)/bin/pytest -q --durations=25 -n 2 -m "not alone"
	$(VENV)/bin/pytest -q --durations=10 -m alone

bench: install
	$(PY) benchmarks/grade_examples.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
	find grader service workers reference -name __pycache__ -prune -exec rm -rf {} +
