"""The run history's tables, defined once (their DDL, Arrow schema and dbt source docs)."""

from __future__ import annotations

from elt.warehouse.tables import BookTable, Column

# The run history (elt/history/): one row per `elt load` and per dbt invocation, recorded after
# the run, and one row per node a dbt invocation ran. The loader's per-file results are in the
# manifest (batch_id = the load's invocation_id).
RUNS = BookTable(
    "_elt_runs",
    (
        Column(
            "invocation_id",
            "text",
            description="dbt's invocation id, or the `elt load` batch id; the run's identity.",
        ),
        Column(
            "command",
            "text",
            description="load (elt load), or the dbt command: build, run, test, seed, snapshot.",
        ),
        Column(
            "environment",
            "text",
            description="The run's environment: prod, or dev_<user> / ci_<run id> (ELT_ENV and its schema prefix).",
        ),
        Column("target", "text", description="The dbt target (or the loader's) the run wrote to."),
        Column(
            "git_commit",
            "text",
            nullable=True,
            description="The project's git commit when the run was recorded ('unknown' outside a checkout; ELT_GIT_COMMIT overrides).",
        ),
        Column(
            "orchestrator_run_id",
            "text",
            nullable=True,
            description="The Airflow DAG run the invocation belonged to (null when run by hand or make).",
        ),
        Column("started_at", "timestamptz", description="When the run started."),
        Column("finished_at", "timestamptz", description="When the run finished."),
        Column(
            "status",
            "text",
            description="success, warn (a test warned), error (a node or file failed, or the command exited non-zero), or skipped (`elt daily` found no file loaded since the last published night and built nothing).",
        ),
        Column(
            "exit_code",
            "bigint",
            nullable=True,
            description="The command's exit code, when the recorder was given it.",
        ),
        Column("recorded_at", "timestamptz", description="When the run was recorded."),
    ),
    primary_key=("invocation_id",),
)

RUN_NODES = BookTable(
    "_elt_run_nodes",
    (
        Column("invocation_id", "text", description="The dbt invocation (`_elt_runs`)."),
        Column("unique_id", "text", description="dbt's unique id of the node."),
        Column(
            "resource_type",
            "text",
            description="model, test, unit_test, seed, snapshot, or operation (a hook such as on-run-start).",
        ),
        Column("node_name", "text", description="The node's name."),
        Column(
            "status",
            "text",
            description="dbt's status: success, error or skipped (models, seeds, snapshots); pass, warn, fail, error or skipped (tests).",
        ),
        Column(
            "started_at",
            "timestamptz",
            nullable=True,
            description="When the node's execution started (null when it was skipped).",
        ),
        Column(
            "finished_at",
            "timestamptz",
            nullable=True,
            description="When the node's execution finished (null when it was skipped).",
        ),
        Column(
            "execution_seconds", "double precision", description="Seconds dbt spent on the node."
        ),
        Column(
            "rows_affected",
            "bigint",
            nullable=True,
            description="Rows the adapter reported written (null when it reports none).",
        ),
        Column(
            "failures",
            "bigint",
            nullable=True,
            description="Failing rows of a test (null for other nodes).",
        ),
        Column("message", "text", nullable=True, description="dbt's message for the node."),
    ),
)
