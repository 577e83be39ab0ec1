"""The context every command resolves once: the environment's settings file loaded by the
library (a variable already set wins), the login name without USER, the loader's login, and
the doors (elt, elt dbt, make) that hand it down."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from elt.cli import main
from elt.context import resolve
from elt.environment import apply_settings, login_name
from elt.generator.config import MESS_KINDS, GeneratorConfig
from elt.generator.run import generate
from elt.tests.conftest import REPO
from elt.warehouse.profile import load_loader_target


def test_the_settings_file_is_loaded_and_a_variable_already_set_wins() -> None:
    environ = {"ELT_ENV": "prod", "ELT_PUBLISH_KEEP": "5"}
    settings = apply_settings(REPO, environ)
    assert settings is not None
    assert settings.path == REPO / "environments" / "prod.env"
    assert environ["ELT_PUBLISH_KEEP"] == "5"  # set before: kept
    assert environ["ELT_PG_SSLMODE"] == "verify-full"  # from the file
    assert settings.origin("ELT_PUBLISH_KEEP") == "environment"
    assert settings.origin("ELT_PG_SSLMODE") == "file"
    # an environment without a file loads nothing (current() names the mistake)
    assert apply_settings(REPO, {"ELT_ENV": "qa"}) is None


def test_dev_is_the_default_environment_of_the_settings() -> None:
    environ: dict[str, str] = {}
    settings = apply_settings(REPO, environ)
    assert settings is not None
    assert settings.path.name == "dev.env"
    assert environ["ELT_PUBLISH_KEEP"] == "2"


@pytest.mark.parametrize(
    ("environ", "name"),
    [
        ({"USER": "ana", "LOGNAME": "x", "HOME": "/home/y"}, "ana"),
        ({"LOGNAME": "cron", "HOME": "/home/y"}, "cron"),
        ({"USERNAME": "win", "HOME": "/home/y"}, "win"),
        ({"HOME": "/root"}, "root"),
        ({"HOME": "/home/runner/"}, "runner"),
        ({}, ""),
    ],
)
def test_the_login_name_without_user(environ: dict[str, str], name: str) -> None:
    assert login_name(environ) == name


def test_the_loader_logs_in_as_the_targets_loader_twin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ELT_TARGET", "postgres")
    assert load_loader_target(REPO, REPO, None).name == "postgres_loader"
    assert load_loader_target(REPO, REPO, "postgres").name == "postgres"  # named: on purpose
    assert load_loader_target(REPO, REPO, "postgres", twin_of_named=True).name == "postgres_loader"
    assert resolve(REPO, REPO, "postgres").night_loader_target.name == "postgres_loader"
    assert load_loader_target(REPO, REPO, "duckdb", twin_of_named=True).name == "duckdb"
    monkeypatch.setenv("ELT_TARGET", "duckdb")
    assert resolve(REPO, REPO, None).loader_target.name == "duckdb"


def test_elt_dbt_runs_dbt_with_the_settings_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    """`elt dbt` becomes dbt (exec) after loading the environment's settings file."""
    seen: dict[str, object] = {}

    def execv(path: str, args: list[str]) -> None:
        seen["path"], seen["args"] = path, args
        seen["sslmode"] = os.environ.get("ELT_PG_SSLMODE")

    monkeypatch.setattr(os, "execv", execv)
    monkeypatch.chdir(REPO)
    monkeypatch.delenv("ELT_PG_SSLMODE", raising=False)
    monkeypatch.setenv("ELT_ENV", "prod")
    result = CliRunner().invoke(main, ["dbt", "build", "--select", "fct_orders+"])
    assert result.exit_code == 0, result.output
    assert Path(str(seen["path"])).name == "dbt"
    assert seen["args"] == [str(seen["path"]), "build", "--select", "fct_orders+"]
    assert seen["sslmode"] == "verify-full"  # prod.env's, loaded by elt


def test_elt_env_says_where_each_setting_came_from(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("ELT_ENV", "prod")
    monkeypatch.setenv("ELT_PUBLISH_KEEP", "5")
    monkeypatch.delenv("ELT_PG_SSLMODE", raising=False)
    monkeypatch.setenv("ELT_ALERT_ON_WARN", "false")
    shown = CliRunner().invoke(main, ["env", "--command-line", "ELT_ALERT_ON_WARN"]).output
    assert "ELT_ENV=prod (schema prefix: none" in shown
    assert "ELT_PUBLISH_KEEP=5  (environment)" in shown
    assert "ELT_PG_SSLMODE=verify-full  (file)" in shown
    assert "ELT_ALERT_ON_WARN=false  (command line)" in shown
    schema = CliRunner().invoke(main, ["env", "--schema", "analytics"]).output
    assert schema.strip() == "analytics"


def test_a_build_on_an_empty_warehouse_says_load_first(tmp_path: Path) -> None:
    env = {**os.environ, "ELT_DUCKDB_PATH": str(tmp_path / "none.duckdb"), "ELT_TARGET": "duckdb"}
    built = subprocess.run(
        [str(Path(sys.executable).with_name("elt")), "build"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert built.returncode == 2
    assert built.stderr.count("\n") == 1, built.stderr  # one line, no wall of catalog errors
    assert "nothing is loaded yet; run `make load`" in built.stderr


def test_make_help_groups_the_targets_and_folders_are_not_targets() -> None:
    def make(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["make", "-s", *args, "ELT_NO_INSTALL=1"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )

    shown = make("help").stdout
    sections = [line for line in shown.splitlines() if line and not line.startswith(" ")][1:]
    assert "Start here" in sections[0]
    assert any("The night" in s for s in sections)
    assert shown.index("run ") < shown.index("spark-up")  # Spark is not first any more
    for folder in ("tests", "models", "deploy"):
        said = make(folder)
        assert said.returncode != 0
        assert "is a folder of the project, not a target" in said.stdout
    assert "make test runs every test" in make("tests").stdout


def test_a_weekend_start_delivers_fx_history(tmp_path: Path) -> None:
    saturday = dt.date(2025, 3, 1)
    cfg = GeneratorConfig(scale=0.002, seed=1, start=saturday, rates=dict.fromkeys(MESS_KINDS, 0.0))
    generate(tmp_path, cfg, days=1)
    history = pq.read_table(tmp_path / "finance/fx_rates/2025-03-01/part-history.parquet")
    days = sorted(set(history["rate_date"].to_pylist()))
    assert days == [dt.date(2025, 2, d) for d in (24, 25, 26, 27, 28)]  # the business days before
    none = GeneratorConfig(**{**cfg.__dict__, "fx_history_days": 0})
    generate(tmp_path / "none", none, days=1)
    assert not list((tmp_path / "none" / "finance" / "fx_rates").rglob("*.parquet"))
