"""The deployment: .env.example and compose.yaml in step with the settings the code reads, and the
image built and run (generate, load, build, publish with no network) when podman is here."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from elt.tests.conftest import REPO, _pg_unreachable_reason

SETTING = re.compile(r"\bELT_[A-Z0-9_]*[A-Z0-9]\b")
# ELT_ names in the code that are not settings a deployment makes
NOT_SETTINGS = {
    "ELT_ALERT_STATUS",  # given to the alert hook, not read
    "ELT_ALERT_HEADLINE",
    "ELT_LOAD",  # the name of the loader's PostgreSQL advisory lock
    "ELT_ELEMENTARY_SCHEMA",  # `make observe` sets it
    "ELT_NO_INSTALL",  # make's own switches
    "ELT_DBT_BOUNCER",
}
SECRETS = {
    "ELT_PG_ADMIN_PASSWORD",
    "ELT_PG_LOADER_PASSWORD",
    "ELT_PG_TRANSFORMER_PASSWORD",
    "ELT_PG_ANALYST_PASSWORD",
    "ELT_PG_PASSWORD",
    "ELT_EMAIL_HASH_KEY",
    "ELT_AIRFLOW_JWT_SECRET",
}
ENV_LINE = re.compile(r"^(?:# )?(ELT_[A-Z0-9_]+)=(.*)$")


def settings_in_code() -> set[str]:
    """Every ELT_ variable the product reads: the package (not its tests or benchmarks), dbt's
    files, the DAG, the Makefile and compose.yaml."""
    files = [
        *(p for p in (REPO / "elt").rglob("*.py") if not {"tests", "bench"} & set(p.parts)),
        *(REPO / "macros").rglob("*.sql"),
        *(REPO / "models").rglob("*.sql"),
        *(REPO / "orchestration" / "airflow" / "dags").glob("*.py"),
        *(REPO / name for name in ("profiles.yml", "dbt_project.yml", "Makefile", "compose.yaml")),
    ]
    found = {m for f in files for m in SETTING.findall(f.read_text())}
    return found - NOT_SETTINGS


def env_example() -> dict[str, str]:
    """The settings .env.example lists (set or commented out), with their values."""
    lines = (REPO / ".env.example").read_text().splitlines()
    return {m[1]: m[2] for m in map(ENV_LINE.match, lines) if m}


def test_env_example_lists_every_setting_and_no_other() -> None:
    listed, used = set(env_example()), settings_in_code()
    assert not used - listed, f"settings missing from .env.example: {sorted(used - listed)}"
    assert not listed - used, f".env.example lists what nothing reads: {sorted(listed - used)}"


def test_env_example_holds_no_secret() -> None:
    values = env_example()
    assert set(values) >= SECRETS
    assert {k: v for k, v in values.items() if k in SECRETS and v} == {}


def compose_config(tmp_path: Path, *args: str) -> dict[str, Any]:
    """compose.yaml as podman-compose resolves it with .env.example (secrets filled in)."""
    env = tmp_path / ".env"
    env.write_text(
        "\n".join(
            f"{k}=test-{k.lower()}" if k in SECRETS else f"{k}={v}"
            for k, v in env_example().items()
        )
    )
    shutil.copy(REPO / "compose.yaml", tmp_path / "compose.yaml")
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "podman-compose"),
            "--env-file",
            str(env),
            *args,
            "config",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    config: dict[str, Any] = yaml.safe_load(result.stdout)
    return config


def test_compose_runs_the_job_beside_postgres(tmp_path: Path) -> None:
    services = compose_config(tmp_path)["services"]
    assert set(services) == {"postgres", "warehouse-setup", "warehouse"}
    job = services["warehouse"]
    assert job["environment"]["ELT_TARGET"] == "postgres"
    assert job["environment"]["ELT_PG_HOST"] == "postgres"
    assert job["environment"]["ELT_PG_PASSWORD"] == "test-elt_pg_transformer_password"
    assert {v.split(":")[1] for v in job["volumes"]} == {"/data", "/warehouse", "/state"}
    assert job["depends_on"]["warehouse-setup"]["condition"] == "service_completed_successfully"
    assert services["warehouse-setup"]["command"] == ["elt", "setup-postgres"]


def test_compose_airflow_profile(tmp_path: Path) -> None:
    services = compose_config(tmp_path, "--profile", "airflow")["services"]
    airflow = {n: s for n, s in services.items() if n.startswith("airflow-")}
    assert set(airflow) == {
        "airflow-init",
        "airflow-api-server",
        "airflow-scheduler",
        "airflow-dag-processor",
    }
    for name, service in airflow.items():
        env = service["environment"]
        assert service["image"] == "localhost/elt-warehouse-airflow:latest", name
        assert env["AIRFLOW__CORE__DAGS_FOLDER"] == "/app/orchestration/airflow/dags", name
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].endswith("@postgres:5432/airflow")
        assert env["AIRFLOW__API_AUTH__JWT_SECRET"] == "test-elt_airflow_jwt_secret", name
    assert "EXTRAS=airflow" in airflow["airflow-init"]["build"]["args"]


def test_containerfile_runs_as_a_user_with_the_data_on_volumes() -> None:
    text = (REPO / "Containerfile").read_text()
    users = re.findall(r"^USER (\S+)", text, re.MULTILINE)
    assert users
    assert users[-1].split(":")[0] not in ("root", "0")
    [volumes] = re.findall(r"^VOLUME (\[.*\])", text, re.MULTILINE)
    assert set(json.loads(volumes)) == {"/data", "/warehouse", "/state"}
    for key, path in (("ELT_DATA_DIR", "/data"), ("ELT_STATE_DIR", "/state")):
        assert re.search(rf"\b{key}={path}\b", text), key
    assert "ELT_DUCKDB_PATH=/warehouse/" in text
    assert "[dev" not in text  # no dev tools in the image


# --- the image itself ------------------------------------------------------------------------


def image_tools_missing() -> str | None:
    """Why the image cannot be built here, or None."""
    for tool in ("podman", "runc", "debootstrap"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install podman runc debootstrap)"
    if os.geteuid() != 0:
        return "debootstrap (the base image) needs root"
    return None


@pytest.fixture(scope="module")
def smoke() -> subprocess.CompletedProcess[str]:
    missing = image_tools_missing()
    if missing:
        if os.environ.get("ELT_REQUIRE_IMAGE") == "1":
            pytest.fail(f"ELT_REQUIRE_IMAGE=1 but {missing}")
        pytest.skip(f"the image is not built: {missing}")
    args = ["make", "--no-print-directory", "image-smoke", "SMOKE_AIRFLOW=1"]
    if _pg_unreachable_reason() is None:
        host, port = (
            os.environ.get("ELT_PG_HOST", "127.0.0.1"),
            os.environ.get("ELT_PG_PORT", "5432"),
        )
        args.append(f"SMOKE_POSTGRES={host}:{port}")
    return subprocess.run(
        args,
        cwd=REPO,
        env={**os.environ, "ELT_NO_INSTALL": "1"},
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
    )


@pytest.mark.slow
def test_image_runs_the_pipeline_offline(smoke: subprocess.CompletedProcess[str]) -> None:
    assert smoke.returncode == 0, (smoke.stdout[-4000:], smoke.stderr[-4000:])
    out = smoke.stdout
    assert "smoke: user elt (10001), network: none" in out
    assert re.search(r"^\* v000002 .* tests: \d+ pass$", out, re.MULTILINE), out[-3000:]
    assert "smoke: analytics.fct_order_items:" in out
    if _pg_unreachable_reason() is None:
        assert "smoke: PostgreSQL analytics.fct_orders:" in out
    assert "smoke: the Airflow image imports elt_warehouse_daily" in out
    assert out.rstrip().endswith("smoke: passed")


@pytest.mark.slow
def test_image_holds_no_dev_tools(smoke: subprocess.CompletedProcess[str]) -> None:
    assert smoke.returncode == 0
    podman = ["podman", "--runtime", "runc"]
    limits = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]
    [inspect] = json.loads(
        subprocess.run(
            [*podman, "image", "inspect", "localhost/elt-warehouse:latest"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    assert inspect["Config"]["User"] == "elt:elt"
    tools = subprocess.run(
        [
            *podman,
            "run",
            "--rm",
            *limits,
            "--network",
            "none",
            "localhost/elt-warehouse:latest",
            "ls",
            "/opt/elt/bin",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert {"elt", "dbt", "mf"} <= set(tools)
    assert not {"pytest", "ruff", "sqlfluff", "mypy", "pre-commit", "pip"} & set(tools)
