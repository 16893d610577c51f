# make          build dist/pagerduty-notify-<version>.jar
# make test     the fast suites: unit, stand-in, loader in Rundeck's classes
# make demo     a job that fails then succeeds, and what PagerDuty received
# make test-rundeck   the suite in a real Rundeck (needs its war; README)
# make bench    cost per notification; writes BENCHMARKS.md

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
READY := $(VENV)/.ready
HARNESS := tests/harness/target/harness.jar

.PHONY: all build test test-rundeck demo bench check clean

all: build

$(READY): requirements-dev.txt
	@echo "make: setting up $(VENV) (Python test and build tools)"
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

build: $(READY)
	$(PY) build.py

check: $(READY)
	$(PY) build.py --check

$(HARNESS): $(shell find tests/harness/src -name '*.java' 2>/dev/null) \
		tests/harness/pom.xml
	@echo "make: building the Rundeck harness (first time downloads from Maven Central)"
	mvn -q -f tests/harness/pom.xml package

test: build $(HARNESS)
	$(PY) -m pytest -q -m "not rundeck" tests

test-rundeck: build
	$(PY) -m pytest -q -m rundeck tests

demo: build $(HARNESS)
	$(PY) tests/demo.py

bench: build $(HARNESS)
	$(PY) bench/bench.py

clean:
	rm -rf build dist tests/harness/target .pytest_cache
