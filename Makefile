# The two commands a newcomer needs: `make run` and `make test` (see README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

export TEST_PG_URL ?= postgresql://postgres:postgres@127.0.0.1:5432/postgres

ROLE ?= member
UNIT ?= HN-KL-C001
SUB ?=

.PHONY: help run test test-fast lint token migrate seed services bench lock clean images k8s k8s-check

help:
	@echo "make run    - the whole system on this machine with demo data"
	@echo "make test   - the full test suite (unit, contract, integration)"
	@echo "make token ROLE=<role> UNIT=<unit> [SUB=<member id>] - a development bearer token"
	@echo "make bench  - load figures: the peak week end to end, submit, review drain, notify, awards drain, rankings at 2M"
	@echo "make lint   - ruff"
	@echo "make images - one container image per service (needs docker; IMAGE_REGISTRY=, IMAGE_TAG=)"
	@echo "make k8s    - render deploy/k8s/overlays/{dev,prod} into var/k8s/"
	@echo "make k8s-check - offline checks of manifests, alerts and dashboards (part of make test)"

$(STAMP): requirements.lock pyproject.toml
	@bash scripts/ensure-services.sh python
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements.lock
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	@touch $(STAMP)

contracts/tools/node_modules/.package-lock.json: contracts/tools/package-lock.json
	@bash scripts/ensure-services.sh node
	npm ci --prefix contracts/tools --no-audit --no-fund --loglevel=error

# The portal's pinned npm packages (Swagger UI, axe-core for the tests) and the local OIDC provider.
PORTAL_NPM := services/portal/assets/node_modules/.package-lock.json services/portal/idp/node_modules/.package-lock.json

services/portal/%/node_modules/.package-lock.json: services/portal/%/package-lock.json
	@bash scripts/ensure-services.sh node
	SCARF_ANALYTICS=false npm ci --prefix services/portal/$* --no-audit --no-fund --loglevel=error

services:
	@bash scripts/ensure-services.sh rabbitmq postgres

migrate: $(STAMP)
	$(VENV)/bin/alembic -c services/submission/alembic.ini upgrade head
	$(VENV)/bin/alembic -c services/review/alembic.ini upgrade head
	UNIT=HN $(VENV)/bin/alembic -c services/review/alembic.ini upgrade head
	$(VENV)/bin/alembic -c services/awards/alembic.ini upgrade head
	$(VENV)/bin/alembic -c services/notify/alembic.ini upgrade head
	$(VENV)/bin/alembic -c services/portal/alembic.ini upgrade head

seed: migrate
	$(PY) -m submission.cli seed

run: $(STAMP) services $(PORTAL_NPM)
	@bash scripts/ensure-services.sh pdf
	@bash scripts/run.sh

test: $(STAMP) services contracts/tools/node_modules/.package-lock.json $(PORTAL_NPM)
	@bash scripts/ensure-services.sh chromium pdf
	$(PY) -m pytest --ignore=tests/browser $(PYTEST_ARGS)
	PORTAL_BROWSER_TESTS=1 $(PY) -m pytest tests/browser $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

token: $(STAMP)
	@$(PY) -m chassis.token_main $(ROLE) $(UNIT) $(SUB)

bench: $(STAMP) services $(PORTAL_NPM)
	$(PY) scripts/bench_peak.py $(BENCH_PEAK_ARGS)
	$(PY) scripts/bench_submit.py $(BENCH_ARGS)
	$(PY) scripts/bench_review.py $(BENCH_REVIEW_ARGS)
	$(PY) scripts/bench_notify.py $(BENCH_NOTIFY_ARGS)
	$(PY) scripts/bench_awards_drain.py $(BENCH_AWARDS_DRAIN_ARGS)
	$(PY) scripts/bench_awards.py $(BENCH_AWARDS_ARGS)
	$(PY) scripts/bench_portal.py $(BENCH_PORTAL_ARGS)
	$(PY) scripts/bench_ranking.py $(BENCH_RANKING_ARGS)

lock: $(STAMP)
	{ echo "# Exact pins of every dependency (regenerate with: make lock)."; \
	  $(PY) -m pip freeze --all --exclude-editable | grep -v -e sangkien -e '^pip=='; } > requirements.lock

IMAGE_REGISTRY ?= sangkien
IMAGE_TAG ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
# Every service whose code exists: services/<name>/<name>/service.py.
IMAGE_SERVICES := $(sort $(notdir $(patsubst %/,%,$(dir $(wildcard services/*/*/service.py)))))

images:
	@command -v docker >/dev/null || { echo "error: images need a container engine (docker)" >&2; exit 1; }
	@for s in $(IMAGE_SERVICES); do \
	  echo "building $(IMAGE_REGISTRY)/$$s:$(IMAGE_TAG)"; \
	  docker build --build-arg SERVICE=$$s -t $(IMAGE_REGISTRY)/$$s:$(IMAGE_TAG) . || exit 1; \
	done

k8s:
	@eval "$$(bash scripts/ensure-k8s-tools.sh | grep '^KUBECTL=')"; mkdir -p var/k8s; \
	for o in dev prod; do $$KUBECTL kustomize deploy/k8s/overlays/$$o > var/k8s/$$o.yaml || exit 1; \
	  echo "var/k8s/$$o.yaml: $$(grep -c '^kind:' var/k8s/$$o.yaml) objects"; done

k8s-check: $(STAMP)
	$(PY) -m pytest tests/deploy -q

clean:
	rm -rf var .pytest_cache
