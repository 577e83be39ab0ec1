"""`make daily` as the operator runs it: the page is written whatever happened, and the last
line says the night's outcome (issue 25: a failed night left yesterday's green page).

Three nights on DuckDB: a good one (published), one whose load fails (a file that is not
Parquet: nothing new is built, nothing published), one whose build fails (a negative discount:
publication blocked with the failed test named). After each, the page's banner and
`elt status` say what analysts read and what the night did.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from elt.generator.config import GeneratorConfig
from elt.generator.run import generate
from elt.tests.conftest import REPO, run_elt
from elt.tests.loader_helpers import make_wh
from elt.tests.routine import BAD_DISCOUNT_TEST, add_bad_discount

pytestmark = pytest.mark.slow
MONDAY = dt.date(2025, 3, 3)


def test_make_daily_always_writes_the_page_and_ends_with_the_outcome(tmp_path: Path) -> None:
    wh = make_wh("duckdb", tmp_path, None)
    data, page = tmp_path / "data", tmp_path / "report.html"
    env = {
        **os.environ,
        **wh.env,
        "DBT_TARGET_PATH": str(tmp_path / "target"),
        "DBT_LOG_PATH": str(tmp_path / "logs"),
        "ELT_REPORT_PATH": str(page),
        "ELT_STATE_DIR": str(tmp_path / "state"),
        "ELT_ALERT_COMMAND": "",
    }
    venv = Path(sys.executable).parent.parent

    def daily() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                "make",
                "--no-print-directory",
                "daily",
                f"VENV={venv}",
                "ELT_NO_INSTALL=1",
                f"DATA_DIR={data}",
                f"DUCKDB_PATH={wh.env['ELT_DUCKDB_PATH']}",
            ],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=900,
        )

    def banner() -> dict[str, object]:
        status = run_elt("status", "--target", "duckdb", "--json", env=env)
        assert status.returncode == 0, status.stderr
        document: dict[str, object] = json.loads(status.stdout)
        return document

    cfg = GeneratorConfig(scale=0.002, seed=9, start=MONDAY)
    generate(data, cfg, days=3)
    good = daily()
    assert good.returncode == 0, good.stdout[-3000:] + good.stderr[-3000:]
    last = good.stdout.strip().splitlines()[-1]
    assert last.startswith("outcome: published v000001"), last
    assert "analysts read v000001" in last
    html = page.read_text()
    assert "outcome-published" in html
    assert "v000001" in html

    # the load fails: no build, nothing published; the page and the last line say so
    generate(data, cfg, days=1, cont=True)
    bad = data / "finance" / "fx_rates" / "2099-01-01" / "part-000.parquet"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"not parquet at all")
    before = page.stat().st_mtime_ns
    failed_load = daily()
    assert failed_load.returncode != 0
    last = failed_load.stdout.strip().splitlines()[-1]
    assert last.startswith("outcome: failed"), last
    assert "elt load failed" in last
    assert "analysts read v000001" in last
    assert page.stat().st_mtime_ns > before
    html = page.read_text()
    assert "outcome-failed" in html
    assert "elt load failed" in html
    assert banner()["last"]["outcome"] == "failed"  # type: ignore[index]
    bad.unlink()

    # the build fails: publication blocked, the failed test named, yesterday's version kept
    add_bad_discount(wh, data)
    before = page.stat().st_mtime_ns
    failed_build = daily()
    assert failed_build.returncode != 0
    said = failed_build.stdout + failed_build.stderr
    assert "publication blocked" in said
    assert BAD_DISCOUNT_TEST in said
    last = failed_build.stdout.strip().splitlines()[-1]
    assert last.startswith("outcome: blocked"), last
    assert "analysts read v000001" in last
    assert page.stat().st_mtime_ns > before
    html = page.read_text()
    assert "outcome-blocked" in html
    assert BAD_DISCOUNT_TEST in html
    status = banner()
    assert status["current"]["number"] == 1  # type: ignore[index]
    assert status["last"]["outcome"] == "blocked"  # type: ignore[index]
