"""Environments: dev, ci and prod name their schemas apart, the same way in dbt and in Python,
and take their settings from environments/<env>.env (secrets never)."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from elt.environment import current
from elt.errors import LoaderError
from elt.tests.conftest import REPO
from elt.tests.dbt_runner import dbt

CASES = [
    ({"ELT_ENV": "prod"}, ""),
    ({"ELT_ENV": "dev", "ELT_DEV_USER": "Ana María"}, "dev_ana_mar_a_"),
    ({"ELT_ENV": "dev", "ELT_DEV_USER": "", "USER": "build-bot"}, "dev_build_bot_"),
    # no USER (containers, cron): the login name from LOGNAME, else the home folder's name
    ({"ELT_ENV": "dev", "ELT_DEV_USER": "", "USER": "", "LOGNAME": "cron-job"}, "dev_cron_job_"),
    (
        {
            "ELT_ENV": "dev",
            "ELT_DEV_USER": "",
            "USER": "",
            "LOGNAME": "",
            "USERNAME": "",
            "HOME": "/home/runner/",
        },
        "dev_runner_",
    ),
    ({"ELT_ENV": "ci", "ELT_CI_RUN_ID": "1234-5"}, "ci_1234_5_"),
]


def parse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    for name in ("ELT_DEV_USER", "ELT_CI_RUN_ID"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return dbt(tmp_path, "duckdb", "parse", "--no-partial-parse")


@pytest.mark.parametrize(("env", "prefix"), CASES)
def test_dbt_and_python_name_the_schemas_alike(
    env: dict[str, str], prefix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed = parse(tmp_path, monkeypatch, env)
    assert parsed.returncode == 0, parsed.stdout[-2000:]
    nodes = json.loads((tmp_path / "target" / "manifest.json").read_text())["nodes"]
    schemas = {
        n["name"]: n["schema"]
        for n in nodes.values()
        if n["resource_type"] in ("model", "seed", "snapshot")
    }
    python = current({**os.environ, **env})
    assert python.prefix == prefix
    assert schemas["fct_orders"] == python.schema("marts") == f"{prefix}marts"
    assert schemas["stg_shop__orders"] == f"{prefix}staging"
    assert schemas["int_orders_resolved"] == f"{prefix}intermediate"
    assert schemas["snp_rpt_daily_sales"] == f"{prefix}snapshots"
    assert python.published_schema == f"{prefix}analytics"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ELT_ENV": "qa"}, "ELT_ENV is qa; it must be dev, ci or prod"),
        ({"ELT_ENV": "ci"}, "ELT_ENV=ci needs ELT_CI_RUN_ID to name its schemas"),
        (
            {"ELT_ENV": "dev", "ELT_DEV_USER": "", "USER": "--"},
            "ELT_ENV=dev needs ELT_DEV_USER (or USER)",
        ),
    ],
)
def test_a_wrong_environment_is_named_by_both(
    env: dict[str, str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed = parse(tmp_path, monkeypatch, env)
    assert parsed.returncode != 0
    assert message in " ".join(parsed.stdout.split())
    with pytest.raises(LoaderError, match=re.escape(message)):
        current({**os.environ, **env})


def test_settings_files_hold_no_secret_and_the_environment_wins() -> None:
    files = sorted((REPO / "environments").glob("*.env"))
    assert [f.stem for f in files] == ["ci", "dev", "prod"]
    for f in files:
        keys = re.findall(r"^([A-Z][A-Z0-9_]*)=", f.read_text(), flags=re.M)
        assert keys, f
        assert not [k for k in keys if re.search("PASSWORD|SECRET|TOKEN|_KEY$", k)], f
    run = {**os.environ, "ELT_PUBLISH_KEEP": "5"}
    run.pop("ELT_PG_SSLMODE", None)
    shown = subprocess.run(
        ["make", "-s", "env", "ELT_ENV=prod", "ELT_ALERT_ON_WARN=false"],
        cwd=REPO,
        env=run,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "ELT_PUBLISH_KEEP=5  (environment)" in shown
    assert "ELT_PG_SSLMODE=verify-full  (file)" in shown
    assert "ELT_ALERT_ON_WARN=false  (command line)" in shown
