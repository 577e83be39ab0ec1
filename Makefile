# The two commands: `make run` (whole pipeline on DuckDB) and `make test` (every test).
# Everything else is one piece of the pipeline; `make help` lists them.

PYTHON      ?= python3
VENV        ?= .venv
# the dbt target; ELT_TARGET (profiles.yml's default target) sets it too, so one setting
# serves make, dbt and the loader (the image and compose.yaml set ELT_TARGET)
TARGET      ?= $(or $(ELT_TARGET),duckdb)
DATA_DIR    ?= $(or $(ELT_DATA_DIR),data)
DUCKDB_PATH ?= $(or $(ELT_DUCKDB_PATH),warehouse/warehouse.duckdb)
SCALE       ?= 0.01
DAYS        ?= 30
PYTEST_ARGS ?=
# pytest-xdist workers (one per core here). --dist loadfile keeps a file's tests on one worker,
# so a module's fixture is built once; a session fixture two files share may be built by both
# (each builds a database of its own). (loadgroup's xdist_group does nothing under pytest 9.)
PYTEST_WORKERS ?= 2
DOCS_PORT   ?= 8080

# The environment (ELT_ENV: dev by default, ci, prod) and its settings file
# environments/<env>.env are elt's to read: every `elt` command (and `elt dbt`) loads them
export ELT_TARGET := $(TARGET)
# Spark (docs/spark.md): its tables, metastore and local cluster live in ELT_SPARK_DIR, beside
# the DuckDB file by default; Spark's logging is the project's (elt/spark_conf)
export ELT_SPARK_DIR := $(abspath $(or $(ELT_SPARK_DIR),$(dir $(DUCKDB_PATH))spark))
export SPARK_CONF_DIR ?= $(CURDIR)/elt/spark_conf
# On PostgreSQL the loader and dbt log in as their own roles (`make pg-setup` makes them;
# elt picks the loader's login, profiles.yml's postgres_loader)
PG_SETUP := $(if $(filter postgres,$(TARGET)),pg-setup)
# dbt on Spark runs on the project's local standalone cluster unless ELT_SPARK_MASTER names
# another master (local[2], or a real cluster's); `make spark-up` starts it when it is down
ifeq ($(TARGET),spark)
export ELT_SPARK_MASTER ?= spark://127.0.0.1:$(or $(ELT_SPARK_MASTER_PORT),7077)
SPARK_UP := $(if $(filter spark://127.0.0.1:%,$(ELT_SPARK_MASTER)),spark-up)
else
SPARK_UP :=
endif
export ELT_DATA_DIR := $(DATA_DIR)
export ELT_DUCKDB_PATH := $(DUCKDB_PATH)
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export DBT_PROFILES_DIR := $(CURDIR)

# dbt-bouncer pins duckdb<2, which the project cannot use: it gets a virtualenv of its own
TOOLS_VENV  ?= .venv-tools
DBT_BOUNCER_SPEC := dbt-bouncer==4.3.0
export ELT_DBT_BOUNCER := $(abspath $(TOOLS_VENV))/bin/dbt-bouncer

BIN   := $(VENV)/bin
ELT   := $(BIN)/elt
# dbt with the environment's settings loaded, as elt loads them
DBT   := $(ELT) dbt
# the project and its dev tools; with the `spark` extra (pyspark, dbt-spark) for TARGET=spark
# (and spark_thrift) and for `make test`
SPARK_STAMP := $(VENV)/.installed-spark
STAMP := $(if $(filter spark%,$(TARGET)),$(SPARK_STAMP),$(VENV)/.installed)
COMMA := ,

.DEFAULT_GOAL := help
.PHONY: help run test test-unit venv venv-spark tools pg-setup data generate load seed snapshot build dbt daily test-all-rows \
        publish rollback release status versions where analyses report metrics env \
        docs docs-generate serve-docs ci-slim ci-clean \
        airflow-venv airflow-dags-test test-airflow \
        observe elementary-packages elementary-packages-from-git \
        lint lint-sql lint-py typecheck lint-files fix conventions erd reference test-docs-site \
        clean clean-warehouse clean-data distclean bench-generate bench-load bench-dbt bench-queries bench-report bench-audit bench-lineage bench-impact bench-spark \
        image-base image-wheels image image-airflow image-smoke \
        spark-up spark-down spark-status spark-sql spark-compact spark-thrift-up spark-thrift-down
# folders of the project are not targets: `make tests` must not say "Nothing to be done"
FOLDERS := deploy elt environments macros models observability orchestration seeds snapshots tests
.PHONY: $(FOLDERS)
$(FOLDERS):
	@echo "make $@: $@/ is a folder of the project, not a target$(if $(filter tests,$@), (make test runs every test)); make help lists the targets"; exit 2

help: ## List the targets, by what they are for
	@echo "Usage: make <target> [TARGET=duckdb|postgres|spark] [DATA_DIR=...] [DUCKDB_PATH=...]"
	@awk 'BEGIN {FS = ":.*## "} /^##@ / {printf "\n\033[1m%s\033[0m\n", substr($$0, 5); next} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-20s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(VENV)/.installed $(SPARK_STAMP): pyproject.toml
ifeq ($(ELT_NO_INSTALL),1)
	@# tests run make in copies of the project with the repository's .venv: never reinstall
	@# the project into it from a copy (the copy's pyproject.toml may look newer)
	@test -x $(BIN)/python || { echo "ELT_NO_INSTALL=1 but $(VENV) has no python"; exit 2; }
else
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev$(if $(filter $(SPARK_STAMP),$@),$(COMMA)spark)]"
	@touch $@
endif

$(ELT_DBT_BOUNCER): Makefile
	@test -x $(TOOLS_VENV)/bin/python || $(PYTHON) -m venv $(TOOLS_VENV)
	$(TOOLS_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(TOOLS_VENV)/bin/python -m pip install --quiet "$(DBT_BOUNCER_SPEC)"
	@touch $@

.PHONY: _warehouse_dir
_warehouse_dir:
	@if [ "$(TARGET)" = duckdb ]; then mkdir -p "$(dir $(DUCKDB_PATH))"; fi

STATE_DIR ?= $(or $(ELT_STATE_DIR),state)
# the page's path: REPORT=..., else ELT_REPORT_PATH, else elt report's own default
# (artifacts/report/<env>-<target>.html)
REPORT ?=

##@ Start here

run: $(STAMP) $(PG_SETUP) $(SPARK_UP) data load build publish docs-generate report ## Whole pipeline on TARGET: set-up, sample data, load, dbt build (seeds, models, tests, the report snapshot), publish, docs, the monitoring page; ends with where to query it
	@echo ""
	@$(ELT) where

# The Airflow tests run beside pytest, their output kept until it ends; their virtualenv
# (.venv-airflow, `make airflow-venv`) is made or updated there too, not before pytest
test: $(SPARK_STAMP) lint $(ELT_DBT_BOUNCER) ## Every test: lint, types, pytest (unit tests, then the whole pipeline on DuckDB, PostgreSQL and Spark, the docs site in Chromium, observability), the Airflow DAG tests beside it
	@airflow_log=$$(mktemp); \
	$(MAKE) --no-print-directory test-airflow >"$$airflow_log" 2>&1 & airflow=$$!; \
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile --durations=15 $(PYTEST_ARGS); tests=$$?; \
	wait $$airflow; airflow_tests=$$?; \
	echo ""; echo "make test-airflow (ran beside pytest):"; cat "$$airflow_log"; rm -f "$$airflow_log"; \
	echo "make test: pytest exit $$tests, Airflow tests exit $$airflow_tests"; \
	[ $$tests -eq 0 ] && [ $$airflow_tests -eq 0 ]

test-unit: $(STAMP) ## Only the unit tests (elt/tests/unit: no dbt build, no database server), in about a minute
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) elt/tests/unit $(PYTEST_ARGS)

##@ The night

data: $(STAMP) ## Generate the small default dataset into DATA_DIR if none exists there
	@if [ -f "$(DATA_DIR)/_meta/state/dataset.json" ]; then \
	  echo "data: dataset already in $(DATA_DIR) (make generate to add days, make clean-data to start over)"; \
	else \
	  $(ELT) generate --out "$(DATA_DIR)" --scale $(SCALE) --days $(DAYS); \
	fi

generate: $(STAMP) ## Add one more day to the dataset in DATA_DIR (creates it if missing)
	@if [ -f "$(DATA_DIR)/_meta/state/dataset.json" ]; then \
	  $(ELT) generate --out "$(DATA_DIR)" --continue --days 1; \
	else \
	  $(ELT) generate --out "$(DATA_DIR)" --scale $(SCALE) --days $(DAYS); \
	fi

load: $(STAMP) _warehouse_dir ## Load new files of DATA_DIR into the raw schema of TARGET (as the loader's login); a failure goes to the alert hook
	$(ELT) load --data-dir "$(DATA_DIR)" --alert

build: $(STAMP) _warehouse_dir $(SPARK_UP) ## dbt build (seeds, models, tests, the report snapshot), incremental by load; recorded in the run history; failures go to the alert hook
	$(ELT) build

publish: $(STAMP) _warehouse_dir $(SPARK_UP) ## Audit the last dbt build (tests, the diff against what analysts read, the gates) and publish it (blocked: one line per reason, alert, exit 1, analysts keep their version); ACCEPT=CHECK REASON='...' publishes despite a gate
	$(ELT) publish --state-dir "$(STATE_DIR)" $(if $(ACCEPT),$(foreach c,$(ACCEPT),--accept $(c)) --reason "$(REASON)")

daily: $(STAMP) _warehouse_dir $(SPARK_UP) ## The nightly routine: load new files, build and test what they reach (nothing when none came; everything and every row on the weekly all-rows night), publish if the audit passes, the monitoring page always; ends with the outcome (the image's default command)
	$(ELT) daily --state-dir "$(STATE_DIR)"

test-all-rows: $(STAMP) _warehouse_dir $(SPARK_UP) ## Every dbt test on every row, not only the new loads (make daily does it every ELT_ALL_ROWS_EVERY_DAYS days, 7)
	$(ELT) test-all-rows

report: $(STAMP) _warehouse_dir $(SPARK_UP) ## Write the monitoring page (REPORT=path): last runs and failures, tests, run times, sources, KPIs (static HTML, offline)
	$(ELT) report $(if $(REPORT),--output "$(REPORT)")

status: $(STAMP) ## What analysts read and since when, last night's outcome with its reasons, the diff and the gates' findings
	$(ELT) status

##@ Analysts

where: $(STAMP) ## Where analysts read the published marts and how to query them
	$(ELT) where

analyses: $(STAMP) $(SPARK_UP) ## Run analyses/ on the published marts as an analyst (NAME=order_lines for one, VARS='{order_id: 42}')
	$(ELT) analyses $(NAME) $(if $(VARS),--vars '$(VARS)')

metrics: $(STAMP) _warehouse_dir ## MetricFlow on the published marts: make metrics ARGS='query --metrics revenue --group-by metric_time__month' (ARGS='list metrics' lists them)
	$(ELT) metrics $(or $(ARGS),list metrics)

docs: docs-generate serve-docs ## Generate the dbt docs site and serve it on http://localhost:DOCS_PORT (8080)

docs-generate: $(STAMP) _warehouse_dir $(SPARK_UP) ## Generate the dbt docs site into target/ (manifest, catalog, index.html), then its own pages: column lineage (lineage.html) and the star-schema pictures
	$(DBT) docs generate
	$(ELT) docs-pages

serve-docs: $(STAMP) ## Serve the already generated docs on http://localhost:DOCS_PORT (8080)
	$(DBT) docs serve --port $(DOCS_PORT) --no-browser

##@ Operators

rollback: $(STAMP) $(SPARK_UP) ## Switch analysts back to the previous published version (TO=<n> for another kept one) and hold them there until make release (REASON='...')
	$(ELT) rollback $(if $(TO),--to $(TO)) $(if $(REASON),--reason "$(REASON)")

release: $(STAMP) ## End the hold a rollback placed: the next night may publish again (diffed against the held version)
	$(ELT) release

versions: $(STAMP) ## List the kept published versions (build time, commit, rows, tests; * = current)
	$(ELT) versions

env: $(STAMP) ## Show the environment (ELT_ENV), its schema prefix and settings file: each key, its value and where it came from
	@$(ELT) env --command-line "$(foreach v,$(.VARIABLES),$(if $(filter command line,$(origin $(v))),$(v)))"

pg-setup: $(STAMP) ## PostgreSQL: create the database and the loader/transformer/analyst roles (idempotent; as ELT_PG_ADMIN_USER)
	$(ELT) setup-postgres

##@ dbt, piece by piece

dbt: build ## dbt build: seeds, staging, intermediate, marts, the report snapshot and every test, in DAG order

seed: $(STAMP) _warehouse_dir $(SPARK_UP) ## dbt seed
	$(DBT) seed

snapshot: $(STAMP) _warehouse_dir $(SPARK_UP) ## dbt snapshot: record the figures rpt_daily_sales publishes (after make build)
	$(DBT) snapshot

ci-slim: $(STAMP) _warehouse_dir ## Slim CI: build and test only what changed (state:modified+) against production's manifest (STATE_DIR/prod), deferring the rest to production, in schemas of this run (ELT_CI_RUN_ID); then the change-impact report against production's published marts (target/impact/), failing on a breaking change unless ACCEPT="why"
	@test -f "$(STATE_DIR)/prod/manifest.json" || { echo "ci-slim: no production manifest in $(STATE_DIR)/prod (a production publish keeps it there: make publish ELT_ENV=prod, or copy it from production)"; exit 2; }
	ELT_ENV=ci $(DBT) build --select state:modified+ --defer --state "$(STATE_DIR)/prod"
	ELT_ENV=ci $(ELT) impact --state "$(STATE_DIR)/prod" --fail-on-breaking $(if $(ACCEPT),--accept "$(ACCEPT)")

ci-clean: $(STAMP) ## Drop the schemas of this CI run (ELT_CI_RUN_ID) and what it published
	ELT_ENV=ci $(ELT) drop-environment

##@ Spark (docs/spark.md)

venv-spark: $(SPARK_STAMP) ## Install the spark extra (pyspark with Spark itself, dbt-spark) into .venv; Spark needs Java 17

spark-up: $(SPARK_STAMP) ## Start the local Spark standalone cluster (a master and two 1-core workers on 127.0.0.1; nothing when it runs)
	$(ELT) spark-cluster start

spark-down: $(SPARK_STAMP) ## Stop the local Spark cluster
	$(ELT) spark-cluster stop

spark-status: $(SPARK_STAMP) ## Show whether the local Spark cluster runs
	$(ELT) spark-cluster status

spark-thrift-up: $(SPARK_STAMP) ## Start a Spark Thrift server on 127.0.0.1:10000 with the spark target's settings (then TARGET=spark_thrift; it holds the metastore)
	$(ELT) spark-cluster thrift-start

spark-thrift-down: $(SPARK_STAMP) ## Stop the Spark Thrift server
	$(ELT) spark-cluster thrift-stop

spark-compact: $(SPARK_STAMP) ## Merge each Spark raw table's part files into one (a load does it at ELT_SPARK_COMPACT_FILES, 16), under the loader's lock
	$(ELT) compact --target spark

spark-sql: $(SPARK_STAMP) ## A query on the Spark warehouse: make spark-sql SQL='select ...' (local mode, the project's metastore)
	@test -n "$(SQL)" || { echo "spark-sql: SQL='select ...' is required"; exit 2; }
	$(ELT) spark-sql "$(SQL)"

##@ Orchestration (docs/orchestration.md)

# Airflow 3 + Cosmos live in a virtualenv of their own, with the project (`.[airflow]`)
AIRFLOW_VENV  ?= .venv-airflow
AIRFLOW_STAMP := $(AIRFLOW_VENV)/.installed
AIRFLOW_DAG   := elt_warehouse_daily
# a throwaway Airflow home: SQLite metadata, the repo's DAG folder, nothing phoned home
AIRFLOW_ENV = AIRFLOW__CORE__DAGS_FOLDER="$(CURDIR)/orchestration/airflow/dags" \
	AIRFLOW__CORE__LOAD_EXAMPLES=False AIRFLOW__USAGE_DATA_COLLECTION__ENABLED=False \
	AIRFLOW__COSMOS__ENABLE_TELEMETRY=False DO_NOT_TRACK=1 SCARF_ANALYTICS=false

$(AIRFLOW_STAMP): pyproject.toml
	@test -x $(AIRFLOW_VENV)/bin/python || $(PYTHON) -m venv $(AIRFLOW_VENV)
	$(AIRFLOW_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(AIRFLOW_VENV)/bin/python -m pip install --quiet -e ".[airflow]" "pytest>=8,<10"
	@touch $@

airflow-venv: $(AIRFLOW_STAMP) ## Create .venv-airflow with Airflow 3, Cosmos and the project (the `airflow` extra)

airflow-dags-test: $(AIRFLOW_STAMP) data _warehouse_dir ## Run the daily DAG once, locally (`airflow dags test`, throwaway AIRFLOW_HOME) on TARGET and DATA_DIR
	@home=$$(mktemp -d); trap 'rm -rf "$$home"' EXIT; \
	  export AIRFLOW_HOME="$$home" $(AIRFLOW_ENV) ELT_DATA_DIR="$(abspath $(DATA_DIR))" ELT_DUCKDB_PATH="$(abspath $(DUCKDB_PATH))"; \
	  $(AIRFLOW_VENV)/bin/dbt parse --target $(TARGET) --quiet && \
	  $(AIRFLOW_VENV)/bin/airflow db migrate > "$$home/migrate.log" && \
	  $(AIRFLOW_VENV)/bin/airflow dags test $(AIRFLOW_DAG)

test-airflow: $(AIRFLOW_STAMP) ## Only the Airflow tests (DagBag import, end-to-end runs), in .venv-airflow
	$(AIRFLOW_ENV) $(AIRFLOW_VENV)/bin/python -m pytest orchestration/airflow/tests $(PYTEST_ARGS)

##@ Observability (docs/observability.md)

# Elementary is optional: ELT_ELEMENTARY_PACKAGES names a directory holding its dbt package
# and dbt_utils (made by one of the two targets below); without it nothing of it runs.
PACKAGE_INSTALL    := observability/package-install
# the versions' one owner is its packages.yml
ELEMENTARY_VERSION := $(shell awk '/elementary-data\/elementary/ {getline; print $$2}' $(PACKAGE_INSTALL)/packages.yml)
DBT_UTILS_VERSION  := $(shell awk '/dbt-labs\/dbt_utils/ {getline; print $$2}' $(PACKAGE_INSTALL)/packages.yml)
OBSERVE_STAMP      := $(VENV)/.observe-installed
OBSERVE_REPORT     ?= artifacts/elementary/report-$(TARGET).html

$(OBSERVE_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[dev,observe]"
	@touch $@

observe: $(OBSERVE_STAMP) _warehouse_dir ## Elementary: build its models, then `edr report` to OBSERVE_REPORT (needs ELT_ELEMENTARY_PACKAGES)
	@if [ ! -f "$$ELT_ELEMENTARY_PACKAGES/elementary/dbt_project.yml" ]; then \
	  echo "observe: set ELT_ELEMENTARY_PACKAGES to a directory holding elementary $(ELEMENTARY_VERSION) and dbt_utils"; \
	  echo "         (make elementary-packages, or make elementary-packages-from-git; docs/observability.md)"; \
	  exit 2; \
	fi
	$(DBT) run --target $(TARGET) --select elementary
	@mkdir -p "$(dir $(OBSERVE_REPORT))"
	@# edr runs dbt from its own project folder: the DuckDB path must be absolute
	ELT_ELEMENTARY_SCHEMA=$$($(ELT) env --schema elementary) \
	ELT_DUCKDB_PATH="$(abspath $(DUCKDB_PATH))" DBT_PACKAGES_FOLDER="$$ELT_ELEMENTARY_PACKAGES" $(BIN)/edr report \
	  --profiles-dir "$(CURDIR)" --profile-target $(TARGET) --config-dir observability/edr \
	  --target-path target/edr --file-path "$(abspath $(OBSERVE_REPORT))" --open-browser false
	@echo "observe: report in $(OBSERVE_REPORT)"

elementary-packages: $(STAMP) ## With internet: dbt deps of elementary + dbt_utils (the pinned versions) into vendor/dbt_packages
	rm -rf vendor/package-install && mkdir -p vendor/package-install
	cp $(PACKAGE_INSTALL)/project.yml vendor/package-install/dbt_project.yml
	cp $(PACKAGE_INSTALL)/packages.yml vendor/package-install/packages.yml
	$(DBT) deps --project-dir vendor/package-install
	@echo "export ELT_ELEMENTARY_PACKAGES=$(CURDIR)/vendor/dbt_packages"

elementary-packages-from-git: ## Offline: the same from local git clones (ELEMENTARY_GIT=..., DBT_UTILS_GIT=...) into vendor/dbt_packages
	@test -n "$(ELEMENTARY_GIT)" -a -n "$(DBT_UTILS_GIT)" || { echo "set ELEMENTARY_GIT and DBT_UTILS_GIT to git repositories"; exit 2; }
	rm -rf vendor/dbt_packages && mkdir -p vendor/dbt_packages/elementary vendor/dbt_packages/dbt_utils
	git --git-dir="$(ELEMENTARY_GIT)" archive $(ELEMENTARY_VERSION) | tar -x -C vendor/dbt_packages/elementary
	git --git-dir="$(DBT_UTILS_GIT)" archive $(DBT_UTILS_VERSION) | tar -x -C vendor/dbt_packages/dbt_utils
	@echo "export ELT_ELEMENTARY_PACKAGES=$(CURDIR)/vendor/dbt_packages"

##@ Quality gates and generated docs (docs/contributing.md)

SQL_PATHS := models snapshots tests analyses

lint: lint-sql lint-py typecheck lint-files ## All static checks: SQL style, Python lint and format, mypy, file hygiene

# sqlfluff's dbt templater compiles against an empty DuckDB file of its own: against the real
# warehouse, is_incremental() would be true once it is built, and the lint would depend on it
SQLFLUFF = lint=$$(mktemp -d); trap 'rm -rf "$$lint"' EXIT; \
	ELT_DUCKDB_PATH="$$lint/lint.duckdb" DBT_TARGET_PATH="$$lint/target" $(BIN)/sqlfluff

lint-sql: $(STAMP) ## sqlfluff (dbt templater, duckdb dialect) on models, snapshots, tests, analyses, compiled as for a first build
	@$(SQLFLUFF) lint $(SQL_PATHS) --processes 2 --disable-progress-bar

lint-py: $(STAMP) ## ruff check and ruff format --check on the Python package
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP) ## mypy (strict) on the elt package
	$(BIN)/mypy

lint-files: $(STAMP) ## pre-commit's file hooks on every tracked file: YAML validity, large files, private keys, conflict markers
	@if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
	  PATH="$(abspath $(BIN)):$$PATH" SKIP=sqlfluff-lint,ruff,ruff-format,mypy $(BIN)/pre-commit run --all-files; \
	else \
	  echo "lint-files: not a git checkout; pre-commit's file hooks skipped"; \
	fi

fix: $(STAMP) ## Rewrite what the linters can fix: sqlfluff fix, ruff --fix, ruff format
	@$(SQLFLUFF) fix $(SQL_PATHS) --processes 2 --disable-progress-bar
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

conventions: docs-generate $(ELT_DBT_BOUNCER) ## dbt-bouncer (dbt-bouncer.yml) on the artifacts of TARGET's built warehouse (after `make run`)
	$(ELT_DBT_BOUNCER) run --config-file dbt-bouncer.yml

erd: $(STAMP) ## Regenerate the star-schema diagram in docs/models.md and models/overview.md from the dbt manifest
	$(DBT) parse --target $(TARGET) --quiet
	$(BIN)/python -m elt.erd --manifest target/manifest.json --write docs/models.md models/overview.md

reference: $(STAMP) ## Regenerate docs/reference (the marts' DDL and data dictionary) from the manifest and catalog of a throwaway DuckDB build
	@work=$$(mktemp -d); trap 'rm -rf "$$work"' EXIT; \
	  export ELT_ENV=prod ELT_DUCKDB_PATH="$$work/reference.duckdb" DBT_TARGET_PATH="$$work/target" \
	    ELT_EMAIL_HASH_KEY=reference-only-email-hash-key-0123456789; \
	  $(ELT) generate --out "$$work/data" --scale 0.001 --days 1 --quiet > /dev/null \
	  && $(ELT) load --target duckdb --data-dir "$$work/data" --quiet > /dev/null \
	  && $(DBT) seed --target duckdb --quiet && $(DBT) run --target duckdb --quiet \
	  && $(DBT) docs generate --target duckdb --quiet \
	  && $(BIN)/python -m elt.reference --manifest "$$work/target/manifest.json" \
	    --catalog "$$work/target/catalog.json" --write docs/reference

test-docs-site: $(STAMP) ## Only the docs-site and conventions tests (builds a small warehouse, opens the site in headless Chromium)
	$(BIN)/python -m pytest elt/tests/test_docs_site.py elt/tests/test_conventions.py $(PYTEST_ARGS)

##@ Benchmarks (docs/benchmarks.md)

bench-generate: $(STAMP) ## Benchmark: time `elt generate` at scale 1 (90 days), print rows/s and MB/s
	$(BIN)/python -m bench.generate

bench-load: $(STAMP) ## Benchmark: elt load vs bare read_csv CTAS / COPY at scale 1, DuckDB and PostgreSQL
	$(BIN)/python -m bench.load

bench-queries: $(STAMP) ## Benchmark: the analyst queries of analyses/ on the published marts, publish/rollback, backup/restore/recovery, at scale 1, DuckDB and PostgreSQL
	$(BIN)/python -m bench.queries

bench-report: $(STAMP) ## Benchmark: `elt report` time, the page's size and its opening time in Chromium, at scale 1, DuckDB and PostgreSQL
	$(BIN)/python -m bench.report

bench-dbt: $(STAMP) ## Benchmark: what a night costs (elapsed and wall): the incremental night vs a full refresh and a same-day dbt run, a night without files, a catch-up, 180 vs 90 days; scale 1, DuckDB and PostgreSQL
	$(BIN)/python -m bench.dbt_incremental

bench-audit: $(STAMP) ## Benchmark: the publication audit's cost against the incremental build at scale 1 (DuckDB, PostgreSQL), and its false blocks over 90 nights of normal data
	$(BIN)/python -m bench.audit

bench-lineage: $(STAMP) ## Benchmark: column lineage of the whole project, and of generated projects of 100, 300 and 1,000 models
	$(BIN)/python -m bench.lineage

bench-impact: $(STAMP) ## Benchmark: the change-impact report against the slim CI build it follows, at scale 1 (DuckDB)
	$(BIN)/python -m bench.impact

bench-spark: $(SPARK_STAMP) ## Benchmark: load, full build, publish, compaction and a night on Spark (the local cluster, two workers) vs DuckDB, at scale 1 and 5 (90 days)
	$(BIN)/python -m bench.spark

##@ Set-up and cleaning

venv: $(STAMP) ## Create .venv and install the project (only when missing or pyproject.toml changed; TARGET=spark adds the spark extra)

tools: $(ELT_DBT_BOUNCER) ## Create .venv-tools with dbt-bouncer (kept apart: it pins duckdb<2)

BACKUP_DIR ?= $(or $(ELT_BACKUP_DIR),backups)

clean: ## Remove dbt build output (target, logs); never the warehouse
	rm -rf target logs dbt_packages

clean-warehouse: $(STAMP) ## Back up the DuckDB warehouse into BACKUP_DIR (what files cannot rebuild), then delete it and its published versions
	@if [ -f "$(DUCKDB_PATH)" ]; then $(ELT) backup --target duckdb --to "$(BACKUP_DIR)"; fi
	rm -rf "$(DUCKDB_PATH)" "$(DUCKDB_PATH).wal" "$(dir $(DUCKDB_PATH))"*published.duckdb "$(dir $(DUCKDB_PATH))"*published.versions

clean-data: ## Remove the generated dataset in DATA_DIR
	rm -rf "$(DATA_DIR)"

distclean: clean clean-warehouse clean-data ## Remove everything made locally, .venv included (the warehouse is backed up first)
	rm -rf $(VENV) $(TOOLS_VENV) $(AIRFLOW_VENV) *.egg-info .pytest_cache build

##@ Deployment (docs/deployment.md)

# The image: Containerfile, built with podman from a base image made by debootstrap (no
# registry needed) and wheels built here (the image build needs no network).
PODMAN      ?= podman --runtime runc
IMAGE       ?= localhost/elt-warehouse:latest
AIRFLOW_IMAGE ?= localhost/elt-warehouse-airflow:latest
BASE_IMAGE  ?= localhost/elt-base:bookworm
DEBIAN_MIRROR ?= http://deb.debian.org/debian
IMAGE_LIMITS := --ulimit nofile=1024:1024 --ulimit nproc=1024:1024
PACKAGE_FILES := pyproject.toml $(shell git ls-files elt 2>/dev/null | grep -v '^elt/tests/')

image-base: ## A Debian bookworm base image from Debian's packages (debootstrap + podman import; as root; once)
	PODMAN="$(PODMAN)" sh deploy/base-image.sh "$(BASE_IMAGE)" "$(DEBIAN_MIRROR)"

# the wheels of the project and its dependencies (build/wheels), or with an extra
# (build/wheels-airflow); pip wheel takes them from the package index, or its cache
build/wheels/.built: $(PACKAGE_FILES) | $(STAMP)
	rm -rf build/wheels
	$(BIN)/python -m pip wheel --quiet --wheel-dir build/wheels .
	@touch $@

build/wheels-%/.built: $(PACKAGE_FILES) | $(STAMP)
	rm -rf build/wheels-$*
	$(BIN)/python -m pip wheel --quiet --wheel-dir build/wheels-$* ".[$*]"
	@touch $@

image-wheels: build/wheels/.built ## Wheels of the project and its dependencies into build/wheels, for an offline image build

IMAGE_BUILD = $(PODMAN) build --network none $(IMAGE_LIMITS) --build-arg BASE="$(BASE_IMAGE)" \
	--build-arg GIT_COMMIT="$$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" -f Containerfile

image: image-base build/wheels/.built ## Build the warehouse image IMAGE (localhost/elt-warehouse:latest) with podman, offline
	$(IMAGE_BUILD) -t "$(IMAGE)" .
	@# the install stage's image is dangling once the build is done
	$(PODMAN) image prune --force > /dev/null

image-airflow: image-base build/wheels-airflow/.built ## Build the image of compose.yaml's airflow profile: the warehouse image plus Airflow 3 and Cosmos
	$(IMAGE_BUILD) --build-arg WHEELS=build/wheels-airflow --build-arg EXTRAS=airflow -t "$(AIRFLOW_IMAGE)" .
	$(PODMAN) image prune --force > /dev/null

# SMOKE_POSTGRES=host:port adds the same on PostgreSQL (host network, a throwaway database);
# SMOKE_AIRFLOW=1 builds the Airflow image too and checks the DAG imports in it
SMOKE_POSTGRES ?=
SMOKE_AIRFLOW ?=

image-smoke: image $(if $(SMOKE_AIRFLOW),image-airflow) ## Build the image, then run generate, load, build, publish inside it with no network (deploy/smoke.sh; SMOKE_POSTGRES=127.0.0.1:5432 adds PostgreSQL, SMOKE_AIRFLOW=1 the Airflow image)
	PODMAN="$(PODMAN)" SMOKE_POSTGRES="$(SMOKE_POSTGRES)" \
	  SMOKE_AIRFLOW_IMAGE="$(if $(SMOKE_AIRFLOW),$(AIRFLOW_IMAGE))" sh deploy/smoke.sh "$(IMAGE)"
