# From a fresh clone, `make demo` and `make test` do every set-up step themselves.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# System tools the lab uses where it can, as command:Debian-package pairs: ip and unshare build the
# realistic mode's namespaces, iptables does the network faults inside them, fusermount3 (checked
# for both packages: FUSE's tools and its library) gives instances' data volumes the I/O the EBS
# faults pause and slow, Chromium renders the HTML report and dashboard in the browser tests, and
# podman runs ECS containers from local images (runc where crun refuses cgroup v1 hosts that also
# mount v2), whose tests build their images offline from the static busybox.
# Installed with apt when we are root; an ordinary user is told once what is missing (and the lab
# says at start what that costs).
SYSTEM_TOOLS := ip:iproute2 unshare:util-linux iptables:iptables fusermount3:fuse3 fusermount3:libfuse3-3 chromium:chromium \
  podman:podman runc:runc busybox:busybox-static

.PHONY: demo test lint format install system-tools clean clean-test-logs

$(STAMP): pyproject.toml
	@python3 -c "import ensurepip, venv" >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
	  && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null; } \
	  || { echo "python3 cannot make a venv: apt-get install python3-venv (as root)"; exit 1; }
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

system-tools:
	@missing=""; for pair in $(SYSTEM_TOOLS); do \
	  command -v $${pair%%:*} >/dev/null 2>&1 || [ -x /usr/sbin/$${pair%%:*} ] || missing="$$missing $${pair#*:}"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing$$missing (apt)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null \
	    || echo "warning: could not install$$missing; the tests that need them will say so"; \
	else \
	  echo "note: not installed:$$missing (as root: apt-get install$$missing); the lab and tests say what that costs"; \
	fi

install: $(STAMP) system-tools

demo: install
	$(VENV)/bin/chaoslab demo

# The suite runs as two pytest processes side by side. Labs on the default VPC range
# (10.0.0.0/16) or on fixed ports must never overlap, so those tests run one after another in
# one stream; the other stream holds the tests that cannot collide with anything: unit tests
# (no lab), the folders that start no lab network at all (awsrun: a moto account; cloudwatch,
# ci), and the folders whose every lab takes a free 10.<n>.0.0/16 and free ports and judges
# leftovers by what its own lab recorded. VPC ranges are banded so the streams never meet: the
# shared-range stream's private labs take 10.121-124 and 10.200-254, the other stream's 10.90-199.
# `pytest` alone runs everything in one stream.
OWN_RANGE_TESTS := tests/unit tests/integration/examples tests/integration/plugin tests/integration/lab \
  tests/integration/faults tests/integration/awsrun tests/integration/cloudwatch tests/integration/ci
TEST_LOGS := $(or $(TMPDIR),/tmp)/chaoslab-make-test-$(shell id -u)

test: install lint clean-test-logs
	@mkdir -p $(TEST_LOGS)
	@echo "two streams: [own-range] $(OWN_RANGE_TESTS); [shared-range] the rest"
	@$(PY) -m pytest -q -p no:cacheprovider --basetemp=$(TEST_LOGS)/own $(OWN_RANGE_TESTS) \
	  > $(TEST_LOGS)/own-range.log 2>&1 & own=$$!; \
	$(PY) -m pytest -q -p no:cacheprovider --basetemp=$(TEST_LOGS)/shared \
	  $(foreach d,$(OWN_RANGE_TESTS),--ignore=$(d)) > $(TEST_LOGS)/shared-range.log 2>&1; shared=$$?; \
	wait $$own; own=$$?; \
	echo "=== [shared-range] (exit $$shared)"; cat $(TEST_LOGS)/shared-range.log; \
	echo "=== [own-range] (exit $$own)"; cat $(TEST_LOGS)/own-range.log; \
	[ $$shared -eq 0 ] && [ $$own -eq 0 ]

# A run killed outright (SIGKILL, a VM restart: its labs' watchdogs die too) leaves its labs'
# units, namespaces, routes and FUSE data-volume mounts behind, recorded in the labs' own stores
# under the old logs: tests/clean_leftovers.py cleans each lab up from them as `chaoslab down`
# would; whatever is still mounted there is then lazily unmounted, or rm would fail on it.
clean-test-logs: install
	@$(PY) tests/clean_leftovers.py $(TEST_LOGS)
	@for m in $$(awk -v p="$(TEST_LOGS)/" 'index($$2, p) == 1 {print $$2}' /proc/self/mounts 2>/dev/null); do \
	  fusermount3 -u -z "$$m" 2>/dev/null || umount -l "$$m" 2>/dev/null || true; done
	@rm -rf $(TEST_LOGS)

# Checked style, before the tests: ruff's lint rules and its formatter, and mypy (strict for the
# newer modules); see pyproject.toml. `make format` applies what the formatter asks for.
lint: install
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff check --fix src tests benchmarks
	$(VENV)/bin/ruff format src tests benchmarks

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
