# synack: every target does its own set-up on a fresh machine.
# `make demo` and `make test` are the two commands README gives.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test check lint fmt bench sysdeps clean validate wheelhouse view-screenshot attacks

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

# System tools the tests use (tshark to check pcaps, iproute2 for namespaces,
# curl, ethtool and ping for interop; chromium and its chromedriver to open
# synack view's pages, tcpdump to capture for them). Installed with apt-get only when missing.
sysdeps:
	@missing=""; \
	for t in tshark:tshark ip:iproute2 curl:curl tc:iproute2 ethtool:ethtool ping:iputils-ping \
	         chromium:chromium chromedriver:chromium-driver tcpdump:tcpdump; do \
	  command -v $${t%%:*} >/dev/null 2>&1 || missing="$$missing $${t#*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "warning: missing system tools:$$missing (tests needing them will fail)"; fi; \
	fi

# Wheels of the dependencies and extras, for the packaging test (tests/packaging), which
# installs offline because the test process has no network.
WHEELHOUSE := $(VENV)/wheelhouse
$(WHEELHOUSE)/.done: pyproject.toml $(STAMP)
	$(PY) tests/packaging/wheelhouse.py $(WHEELHOUSE)
	touch $@
wheelhouse: $(WHEELHOUSE)/.done

demo: $(STAMP)
	$(VENV)/bin/synack demo

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

fmt: $(STAMP)
	$(VENV)/bin/ruff format src tests bench
	$(VENV)/bin/ruff check --fix src tests bench

test: $(STAMP) sysdeps lint wheelhouse
	$(PY) -m pytest -q -p no:cacheprovider

# The quick loop while working: lint, then every test but those marked slow
# (long runs) or netns (real packets in namespaces); about a minute.
check: $(STAMP) lint
	$(PY) -m pytest -q -p no:cacheprovider -m "not slow and not netns"

# Congestion-control validation: runs the experiments, rewrites docs/congestion.md.
validate: $(STAMP)
	$(VENV)/bin/synack experiment validate

# README's picture of `synack view` (the demo's page in headless Chromium).
view-screenshot: $(STAMP) sysdeps
	$(PY) -m tests.view.screenshot docs/img/view-demo.png

# The attack lab's report: every scenario over many seeds, rewrites docs/attacks.md.
attacks: $(STAMP)
	$(VENV)/bin/synack attack all --report

bench: $(STAMP) sysdeps
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
