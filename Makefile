# From a fresh clone, `make demo` and `make test` do every set-up step themselves.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# System tools the lab uses where it can: iptables (network faults in unit namespaces) and, for
# the tests, Chromium (the HTML report is rendered headless). Installed with apt when we are root.
SYSTEM_TOOLS := iptables chromium

.PHONY: demo test install system-tools clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

system-tools:
	@missing=""; for t in $(SYSTEM_TOOLS); do command -v $$t >/dev/null 2>&1 || missing="$$missing $$t"; done; \
	if [ -n "$$missing" ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing$$missing (apt)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null \
	    || echo "warning: could not install$$missing; the tests that need them will say so"; \
	fi

install: $(STAMP) system-tools

demo: install
	$(VENV)/bin/chaoslab demo

test: install
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
