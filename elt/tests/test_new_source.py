"""A new source by YAML alone: the example of docs/loading.md, added to a copy of the project, goes
through the whole pipeline (generate, load, dbt build, docs) and every gate (dbt-bouncer,
sqlfluff) green, with no other file touched."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from elt.generator.config import GeneratorConfig
from elt.generator.run import generate
from elt.tests.conftest import REPO
from elt.tests.test_conventions import bouncer

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
PROJECT_FILES = (
    "models",
    "macros",
    "seeds",
    "snapshots",
    "tests",
    "analyses",
    "dbt_project.yml",
    "profiles.yml",
    "dbt-bouncer.yml",
    ".sqlfluff",
    ".sqlfluffignore",
)
EXAMPLE = re.compile(r"<!-- example: (?P<path>\S+) -->\n```\w*\n(?P<body>.*?)```", re.S)


def readme_examples() -> dict[str, str]:
    """The files docs/loading.md's "Adding a source" section shows, by path."""
    return {
        m["path"]: m["body"] for m in EXAMPLE.finditer((REPO / "docs" / "loading.md").read_text())
    }


def run(cmd: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=1800
    )


def test_the_readme_example_source_passes_the_pipeline_and_every_gate(tmp_path: Path) -> None:
    examples = readme_examples()
    assert set(examples) == {
        "models/staging/crm/_crm__sources.yml",
        "models/staging/crm/stg_crm__contacts.sql",
        "models/staging/crm/_crm__models.yml",
    }
    project = tmp_path / "project"
    project.mkdir()
    for name in PROJECT_FILES:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, project / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, project / name)
    for rel, body in examples.items():
        (project / rel).parent.mkdir(parents=True, exist_ok=True)
        (project / rel).write_text(body)

    data = tmp_path / "data"
    start = dt.date(2025, 3, 3)
    generate(data, GeneratorConfig(scale=0.005, seed=3, start=start), days=3)
    for day in range(3):
        folder = data / "crm" / "contacts" / (start + dt.timedelta(days=day)).isoformat()
        folder.mkdir(parents=True)
        rows = [
            f"{day * 10 + i},C{i}@Example.com ,Contact {i},2025-03-0{3 + day}T10:00:00Z"
            for i in range(5)
        ]
        rows.append(f"x{day},bad@example.com,Broken,2025-03-03")  # a reject: the id is not a number
        (folder / "contacts.csv").write_text(
            "contact_id,email,full_name,updated_at\n" + "\n".join(rows) + "\n"
        )

    env = {
        **os.environ,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_PROFILES_DIR": str(project),
        "ELT_TARGET": "duckdb",
        "ELT_DUCKDB_PATH": str(tmp_path / "warehouse.duckdb"),
        "ELT_DATA_DIR": str(data),
    }
    env.pop("DBT_TARGET_PATH", None)
    env.pop("DBT_LOG_PATH", None)
    loaded = run(
        [
            str(BIN / "elt"),
            "load",
            "--project-dir",
            str(project),
            "--data-dir",
            str(data),
            "--quiet",
        ],
        project,
        env,
    )
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    assert "crm.contacts" in loaded.stdout
    for args in (["build"], ["docs", "generate"]):
        result = run([str(BIN / "dbt"), *args, "--project-dir", str(project)], project, env)
        assert result.returncode == 0, result.stdout[-6000:]
        assert "WARN=" not in result.stdout or "WARN=0" in result.stdout, result.stdout[-4000:]

    with duckdb.connect(env["ELT_DUCKDB_PATH"], read_only=True) as con:
        staged = con.sql(
            "select count(*), count(reject_reason), count(*) filter (where email = 'c0@example.com') "
            "from staging.stg_crm__contacts"
        ).fetchall()
        assert staged == [(18, 3, 3)]  # emails trimmed and lower-cased
        health = con.sql(
            "select files_loaded, rows_loaded, freshness_warn_hours, freshness_error_hours "
            "from marts.rpt_pipeline_health where source_table = 'crm.contacts' and is_latest_load"
        ).fetchall()
        assert health == [(3, 18, 26, 50)]

    gate = bouncer(project / "target", tmp_path)
    assert gate.returncode == 0, gate.stdout[-6000:] + gate.stderr[-2000:]
    (project / "warehouse").mkdir(exist_ok=True)
    lint = run(
        [str(BIN / "sqlfluff"), "lint", "models/staging/crm", "--disable-progress-bar"],
        project,
        env,
    )
    assert lint.returncode == 0, lint.stdout[-4000:] + lint.stderr[-2000:]
