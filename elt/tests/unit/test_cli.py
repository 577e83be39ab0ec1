"""The ``elt`` command's surface, in process (click's test runner): every command answers
--help, and a mistake the user can fix is one line on stderr with a meaningful exit code,
never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from elt.cli import main
from elt.tests.conftest import invoke_elt

# the tests' environment is prod (conftest), which drop-environment refuses
DEV = {"ELT_ENV": "dev", "ELT_DEV_USER": "tester"}


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The error line of a failed command: the only line on stderr but for click's usage
    preamble, and no traceback."""
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.lower().startswith("error: ")]
    assert len(errors) == 1, result.stderr
    usage = [line for line in lines if line.startswith(("Usage: ", "Try 'elt "))]
    assert len(lines) == 1 + len(usage), result.stderr
    return errors[0]


def test_every_command_answers_help() -> None:
    assert set(main.commands) >= {"generate", "load", "publish", "rollback", "versions"}
    for name in main.commands:
        result = invoke_elt(name, "--help")
        assert result.returncode == 0, (name, result.stderr)
        assert result.stdout.startswith(f"Usage: elt {name} "), (name, result.stdout[:200])


@pytest.mark.parametrize(
    ("args", "env", "code", "message"),
    [
        (["load", "--data-dir", "{tmp}/nowhere"], {}, 2, "data directory {tmp}/nowhere does not"),
        (["load", "--data-dir", "{tmp}", "--target", "nope"], {}, 2, "target 'nope' is not in"),
        (
            ["load", "--data-dir", "{tmp}", "--target", "postgres"],
            {"ELT_PG_PORT": "1"},
            3,
            "cannot connect to target 'postgres'",
        ),
        (["load", "--data-dir", "{tmp}", "--max-quarantine-rate", "2"], {}, 2, "0<=x<=1"),
        (["report", "--days", "0"], {}, 2, "'--days': 0 is not in the range x>=1"),
        (["publish", "--run-results", "{tmp}/run_results.json"], {}, 2, "no dbt run results"),
        (["rollback"], {}, 1, "nothing to roll back to"),
        (["restore", "{tmp}"], {}, 2, "is not a backup"),
        (["backup", "--to", "{tmp}/b"], {}, 2, "no DuckDB warehouse at"),
        (["drop-environment"], {}, 2, "refuses production"),
        (["generate", "--out", "{tmp}/d", "--scale", "-1"], {}, 2, "--scale must be a positive"),
        (["record-run", "--run-results", "{tmp}/x.json"], {}, 2, "no dbt invocation to record"),
        (["metrics"], {}, 2, "name an mf command"),
        (["archive", "--data-dir", "{tmp}", "--delete"], {}, 2, "--delete goes with --older-than"),
    ],
)
def test_user_errors_are_one_line(
    tmp_path: Path, args: list[str], env: dict[str, str], code: int, message: str
) -> None:
    warehouse = tmp_path / "w" / "warehouse.duckdb"
    result = invoke_elt(
        *(a.format(tmp=tmp_path) for a in args),
        env={"ELT_DUCKDB_PATH": str(warehouse), "ELT_STATE_DIR": str(tmp_path / "s"), **env},
    )
    assert result.returncode == code, (result.returncode, result.stderr)
    assert message.format(tmp=tmp_path) in one_error_line(result)


def test_drop_environment_without_a_warehouse_creates_none(tmp_path: Path) -> None:
    # it used to connect (creating an empty file) or fail with DuckDB's traceback
    warehouse = tmp_path / "warehouse.duckdb"
    result = invoke_elt("drop-environment", env={**DEV, "ELT_DUCKDB_PATH": str(warehouse)})
    assert result.returncode == 0, result.stderr
    assert "nothing" in result.stdout
    assert not warehouse.exists()


def test_a_locked_warehouse_is_a_transient_one_line_error(tmp_path: Path) -> None:
    """A DuckDB file another process writes: exit 3 (retry later), DuckDB's reason on one line."""
    warehouse = tmp_path / "warehouse.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys; c = duckdb.connect(sys.argv[1]); c.execute('create table t (i int)');"
            " print('held', flush=True); sys.stdin.read()",
            str(warehouse),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        result = invoke_elt("drop-environment", env={**DEV, "ELT_DUCKDB_PATH": str(warehouse)})
    finally:
        holder.communicate("")
    assert result.returncode == 3, result.stderr
    assert "lock" in one_error_line(result).lower()


def test_generate_then_load_in_process(tmp_path: Path) -> None:
    data, warehouse = tmp_path / "data", tmp_path / "warehouse.duckdb"
    made = invoke_elt("generate", "--out", str(data), "--scale", "0.001", "--days", "1", "--quiet")
    assert made.returncode == 0, made.stderr
    env = {"ELT_DUCKDB_PATH": str(warehouse)}
    loaded = invoke_elt("load", "--data-dir", str(data), "--quiet", env=env)
    assert loaded.returncode == 0, loaded.stderr
    assert "every file loaded" in loaded.stdout
    again = invoke_elt("load", "--data-dir", str(data), "--quiet", env=env)
    assert again.returncode == 0, again.stderr
    assert "0 rows loaded" in again.stdout, again.stdout
