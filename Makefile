# Beacon: `make demo` runs the whole pipeline on sample data; `make test` runs the test suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install native-deps browser-deps demo dev test lint format bench clean

install: $(STAMP)

$(STAMP): pyproject.toml setup.py $(wildcard ingestion/events/native/*)
	@$(MAKE) --no-print-directory native-deps
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: install
	$(BIN)/beacon demo

dev: install
	$(BIN)/beacon db start
	DAGSTER_HOME="$$($(BIN)/python -c 'from orchestration.runner import dagster_home; print(dagster_home())')" \
		$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

# Debian packages this machine lacks, installed when we can: as root, with apt-get.
APT_INSTALL = [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && apt-get update -qq \
	&& DEBIAN_FRONTEND=noninteractive apt-get install -y -qq

# The loader's C part includes OpenSSL's headers (setup.py).
native-deps:
	@echo '#include <openssl/evp.h>' | $${CC:-cc} -E - >/dev/null 2>&1 \
		|| { $(APT_INSTALL) libssl-dev >/dev/null; } \
		|| { echo "OpenSSL's headers are missing: install libssl-dev (or openssl-devel)"; exit 1; }

# The browser test drives Debian's Chromium.
browser-deps:
	@command -v chromium >/dev/null || { $(APT_INSTALL) chromium >/dev/null; } \
		|| echo "chromium is not installed: the browser test will be skipped"

test: install browser-deps
	$(BIN)/ruff check .
	$(BIN)/pytest -q -p no:cacheprovider -n 2

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	$(BIN)/beacon bench --events $${EVENTS:-1000000}

clean:
	-$(BIN)/beacon db stop
	rm -rf .beacon target dbt_project/target data
