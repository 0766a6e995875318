# partnerdesk — `make demo` to try it, `make test` to check it.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
PD     := $(BIN)/partnerdesk
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: demo test test-fast install dev messages lint check audit screenshots bench dist clean help

help:
	@echo "make demo   install, migrate, load demo data, serve http://$(HOST):$(PORT) (PORT=8001 for another)"
	@echo "make test   install dev extras, lint, checks, and the whole test suite"
	@echo "make test-fast   the suite without browser journeys and slow process tests"

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

# The OpenID provider the sign-in tests start (tests/oidc: oidc-provider under Node).
OIDC_PROVIDER := tests/oidc/node_modules/.package-lock.json
$(OIDC_PROVIDER): tests/oidc/package-lock.json
	cd tests/oidc && npm ci --no-audit --no-fund --loglevel=error

install: $(VENV)/.installed
dev: $(VENV)/.installed-dev $(OIDC_PROVIDER)

messages: install
	$(PD) compile-catalogs

# The demo activates benefits after 20 s instead of 3 days, so a visitor sees the whole
# flow; its worker runs beside the server and stops with it. It is served as in
# production (`partnerdesk serve`, DEBUG off) but over plain http on this machine, so
# without the redirect to https, and with a secret key of its own, made once in var/.
DEMO_KEY := var/demo-secret-key
# `make demo PORT=8001` (or HOST=…) serves there, and the e-mails' links follow it.
DEMO_ENV := PARTNERDESK_ACTIVATION_DELAY=20 PARTNERDESK_PERIODIC_INTERVAL=10 \
	DJANGO_DEBUG=0 PARTNERDESK_HTTPS=0 ALLOWED_HOSTS=$(HOST),127.0.0.1,localhost \
	PARTNERDESK_BASE_URL=http://$(HOST):$(PORT)

$(DEMO_KEY):
	mkdir -p var
	umask 077 && $(BIN)/python -c "import secrets; print(secrets.token_urlsafe(50))" > $@

demo: install messages $(DEMO_KEY)
	$(PD) migrate --noinput
	$(PD) demo-data --write var/demo-partners.json
	@echo "Serving http://$(HOST):$(PORT)/  (API: http://$(HOST):$(PORT)/api/v1/docs; Ctrl-C stops)"
	@export DJANGO_SECRET_KEY="$$(cat $(DEMO_KEY))"; \
	  $(DEMO_ENV) $(PD) worker & worker=$$!; \
	  trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	  $(DEMO_ENV) $(PD) serve --bind $(HOST):$(PORT)

lint: dev
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

check: dev messages
	$(PD) check --fail-level WARNING
	$(PD) makemigrations --check --dry-run

# Static security checks (bandit: medium severity and up). pip-audit is not here: its
# vulnerability services are out of reach of these machines (see docs/security.md).
audit: dev
	$(BIN)/bandit -q -r src -ll

test: dev messages lint check audit
	$(BIN)/pytest

# Your own loop: the whole suite but the browser journeys and the slow process tests.
test-fast: dev messages
	$(BIN)/pytest -m "not slow and not browser" -q

# The pictures in docs/screenshots come from the browser tests (desktop and phone widths,
# in all three languages): every one of them runs, so none is left from an older layout.
screenshots: dev messages
	PARTNERDESK_SCREENSHOTS=1 $(BIN)/pytest -m browser -q

# Not part of `make test`: throughput and latency, measured (see docs/benchmarks.md).
bench: install messages
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# The sdist and the wheel in dist/, the wheel built from the sdist, with the catalogs
# compiled into it (setup.py) and the static files; `partnerdesk serve` collects those.
dist: dev
	rm -rf dist
	$(BIN)/python -m build --outdir dist

clean:
	rm -rf $(VENV) var build dist src/*.egg-info
