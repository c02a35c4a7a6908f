# Two commands: `make run` (demo city on http://127.0.0.1:8000) and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 1
# The embedded laptop set-up runs with DEBUG off too; it needs a key, kept out of git.
SECRET_KEY ?= $(shell test -f .local-secret-key || /usr/bin/python3 -c "import secrets; print(secrets.token_urlsafe(50))" > .local-secret-key; cat .local-secret-key)
export SECRET_KEY

.PHONY: run test pytest setup setup-browser migrate demo static serve lint format messages clean bench soak

setup:
	@./scripts/setup.sh

setup-browser:
	@WITH_BROWSER=1 ./scripts/setup.sh

migrate: setup
	$(PY) manage.py migrate --no-input

demo: migrate
	$(PY) manage.py load_demo

static: setup
	$(PY) manage.py collectstatic --no-input -v 0

serve:
	@echo "Serving http://$(HOST):$(PORT)/ (HTTP and WebSocket). Admin: http://$(HOST):$(PORT)/admin/"
	$(VENV)/bin/uvicorn config.asgi:application --host $(HOST) --port $(PORT) --workers $(WORKERS) \
		--ws-max-size 65536 --ws-per-message-deflate false --lifespan off --proxy-headers \
		--no-server-header

run: demo static serve

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test: setup-browser lint pytest

# The suite alone, on a machine `make setup-browser` has prepared (.ci/run runs both backends
# at once with it).
pytest:
	DJANGO_SETTINGS_MODULE=tests.settings $(PY) manage.py makemigrations --check --dry-run
	@# pytest exits 5 when it ran no test: that is a failure here, not a pass.
	@$(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
		if [ $$rc -eq 5 ]; then echo "make test: pytest ran no tests" >&2; exit 1; fi; exit $$rc

# The message catalogue of our templates and Python (needs GNU gettext); compiled .mo files are
# build output, not kept in git. English needs none: the msgids are English.
MESSAGES_IGNORE := --ignore='.venv/*' --ignore='staticfiles/*' --ignore='tests/*' \
	--ignore='bench/*' --ignore='media/*' --ignore='build/*' --ignore='geo_fixtures/*'
LANG_CODE ?= en
messages: setup
	$(PY) manage.py makemessages -l $(LANG_CODE) --no-obsolete --add-location=file $(MESSAGES_IGNORE)
	$(PY) manage.py compilemessages -l $(LANG_CODE) --ignore='.venv/*'

# Every benchmark beside its floor, on PostGIS + Redis and on SpatiaLite (bench/README.md).
# BENCH_ARGS="--backend spatialite --quick" for a smoke run.
bench: setup $(VENV)/.bench-installed
	$(PY) bench/run.py $(BENCH_ARGS)

$(VENV)/.bench-installed: pyproject.toml
	$(PY) -m pip install -q -e ".[test,bench]"
	touch $@

# The load test: 1000 WebSocket clients and steady posting for 5 minutes on 2 workers,
# PostGIS + a private Redis it starts itself (README, "Load test").
soak: setup
	@test -n "$(DATABASE_URL)" || { echo "make soak needs DATABASE_URL=postgis://…" >&2; exit 2; }
	$(PY) bench/soak.py --database-url "$(DATABASE_URL)" $(SOAK_ARGS)

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
