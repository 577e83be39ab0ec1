"""Observability: the pipeline-health thresholds, the alert hook, the loader's JSON-lines events,
and (with the optional package installed) elementary's monitors and report on both targets."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from elt.generator.config import MESS_KINDS, GeneratorConfig
from elt.generator.run import generate
from elt.tests.conftest import REPO, run_elt
from elt.tests.dbt_runner import dbt
from elt.tests.loader_helpers import Wh

START = dt.date(2025, 3, 3)  # a Monday: FX rates exist from the first day
HEALTH_TESTS = {
    "quarantine_warn": "pipeline_health_quarantine_rate_warn",
    "quarantine_error": "pipeline_health_quarantine_rate_error",
    "freshness_warn": "pipeline_health_freshness_warn",
    "freshness_error": "pipeline_health_freshness_error",
    "failed_files": "pipeline_health_no_failed_files",
}


def clean_config(**rates: float) -> GeneratorConfig:
    """No messiness at all, except the given kinds at the given rates."""
    return GeneratorConfig(
        scale=0.02, seed=21, start=START, rates={k: rates.get(k, 0.0) for k in MESS_KINDS}
    )


def health_build(
    wh: Wh, work: Path, as_of: dt.datetime | None = None
) -> tuple[int, dict[str, str], Path]:
    """dbt build of the pipeline-health report and its tests: exit code, test -> status."""
    # cautious: the tests of the selected models only (the reconciliations read the facts too)
    args = ["build", "--select", "+rpt_pipeline_health", "--indirect-selection", "cautious"]
    if as_of is not None:
        args += [
            "--vars",
            json.dumps({"pipeline_health_as_of": as_of.strftime("%Y-%m-%d %H:%M:%S")}),
        ]
    result = dbt(work, wh.kind, *args, database=wh.env.get("ELT_PG_DATABASE"))
    run_results = work / "target" / "run_results.json"
    if result.returncode != 0:
        print(result.stdout[-5000:])  # shown when the test fails
    statuses = {
        r["unique_id"].split(".")[2]: r["status"]
        for r in json.loads(run_results.read_text())["results"]
        if r["unique_id"].startswith("test.")
    }
    return (
        result.returncode,
        {k: statuses.get(v, "missing") for k, v in HEALTH_TESTS.items()},
        run_results,
    )


@pytest.mark.slow
def test_clean_nights_pass_and_the_report_counts_every_file(wh: Wh, tmp_path: Path) -> None:
    data = tmp_path / "data"
    generate(data, clean_config(wrong_column_count=0.002), days=3)
    report = wh.load(data)
    assert report.ok
    code, tests, _ = health_build(wh, tmp_path)
    assert code == 0
    assert set(tests.values()) == {"pass"}, tests
    rows = wh.sql(
        "select source_table, files_loaded, files_failed, rows_in_files, rows_loaded,"
        " rows_quarantined, is_latest_load from marts.rpt_pipeline_health"
    )
    by_table: dict[str, list[int]] = {}
    for r in report.results:
        t = by_table.setdefault(r.file.table.label, [0, 0, 0])
        t[0] += 1
        t[1] += r.rows_loaded
        t[2] += r.rows_quarantined
    assert {r[0]: [r[1], r[4], r[5]] for r in rows} == by_table
    assert all(r[2] == 0 and r[6] for r in rows)
    assert all(r[3] == r[4] + r[5] for r in rows)


@pytest.mark.slow
def test_quarantine_above_one_percent_warns(wh: Wh, tmp_path: Path) -> None:
    data = tmp_path / "data"
    generate(data, clean_config(wrong_column_count=0.025), days=2)
    assert wh.load(data).ok
    code, tests, _ = health_build(wh, tmp_path)
    rates = wh.sql("select max(quarantine_rate) from marts.rpt_pipeline_health")[0][0]
    assert 0.01 < float(rates) <= 0.05, rates
    assert code == 0
    assert tests["quarantine_warn"] == "warn"
    assert tests["quarantine_error"] == "pass"


@pytest.mark.slow
def test_quarantine_above_five_percent_fails_the_build_and_alerts(wh: Wh, tmp_path: Path) -> None:
    data = tmp_path / "data"
    generate(data, clean_config(wrong_column_count=0.12), days=2)
    assert wh.load(data).ok
    code, tests, run_results = health_build(wh, tmp_path)
    assert code != 0
    assert tests["quarantine_error"] == "fail"
    assert tests["quarantine_warn"] == "warn"
    # the alert hook turns it into a notification and passes the exit code on
    sink = tmp_path / "alert.json"
    alerted = run_elt(
        "alert",
        "--step",
        "dbt build",
        "--exit-code",
        str(code),
        "--run-results",
        str(run_results),
        env={"ELT_ALERT_COMMAND": f"cat > {sink}"},
    )
    assert alerted.returncode == code
    summary = json.loads(sink.read_text())
    assert summary["status"] == "failed"
    assert "pipeline_health_quarantine_rate_error" in {e["name"] for e in summary["errors"]}
    assert "pipeline_health_quarantine_rate_warn" in {w["name"] for w in summary["warnings"]}
    assert "pipeline_health_quarantine_rate_error" in alerted.stderr


@pytest.mark.slow
def test_a_stale_source_warns_then_fails(wh: Wh, tmp_path: Path) -> None:
    data = tmp_path / "data"
    generate(data, clean_config(), days=2)
    assert wh.load(data).ok
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    code, tests, _ = health_build(wh, tmp_path, as_of=now + dt.timedelta(hours=30))
    assert code == 0
    assert (tests["freshness_warn"], tests["freshness_error"]) == ("warn", "pass")
    code, tests, _ = health_build(wh, tmp_path, as_of=now + dt.timedelta(hours=60))
    assert code != 0
    assert (tests["freshness_warn"], tests["freshness_error"]) == ("warn", "fail")


# --- the alert command on its own ---------------------------------------------------------


def _run_results(tmp_path: Path, statuses: dict[str, str]) -> Path:
    path = tmp_path / "run_results.json"
    path.write_text(
        json.dumps(
            {
                "metadata": {"invocation_id": "abc"},
                "results": [
                    {
                        "unique_id": f"test.elt_warehouse.{name}",
                        "status": s,
                        "failures": 1,
                        "message": "m",
                    }
                    for name, s in statuses.items()
                ],
            }
        )
    )
    return path


@pytest.mark.parametrize(
    ("statuses", "exit_code", "on_warn", "alerts"),
    [
        ({"a": "pass"}, 0, False, False),
        ({"a": "pass", "b": "warn"}, 0, False, False),
        ({"a": "pass", "b": "warn"}, 0, True, True),
        ({"a": "fail", "b": "warn"}, 1, False, True),
        ({"a": "error"}, 1, False, True),
        ({}, 2, False, True),  # a step that failed before dbt wrote results
    ],
)
def test_alert_runs_the_hook_only_when_there_is_something_to_report(
    tmp_path: Path, statuses: dict[str, str], exit_code: int, on_warn: bool, alerts: bool
) -> None:
    sink = tmp_path / "sink.json"
    env = {"ELT_ALERT_COMMAND": f"cat > {sink}; echo $ELT_ALERT_STATUS > {sink}.status"}
    if on_warn:
        env["ELT_ALERT_ON_WARN"] = "1"
    result = run_elt(
        "alert",
        "--exit-code",
        str(exit_code),
        "--run-results",
        str(_run_results(tmp_path, statuses)),
        env=env,
    )
    assert result.returncode == exit_code
    assert sink.exists() == alerts
    if alerts:
        summary = json.loads(sink.read_text())
        assert summary["exit_code"] == exit_code
        assert Path(f"{sink}.status").read_text().strip() == summary["status"]
        assert {e["name"] for e in summary["errors"]} == {
            n for n, s in statuses.items() if s in ("fail", "error")
        }


def test_alert_reports_a_failing_hook_without_hiding_the_exit_code(tmp_path: Path) -> None:
    result = run_elt("alert", "--exit-code", "1", env={"ELT_ALERT_COMMAND": "exit 7"})
    assert result.returncode == 1
    assert "hook command exited with 7" in result.stderr


# --- JSON-lines events of the loader ------------------------------------------------------


def test_loader_writes_one_json_event_per_file_and_a_summary(tmp_path: Path) -> None:
    data = tmp_path / "data"
    generate(data, clean_config(wrong_column_count=0.03), days=2)
    broken = sorted(data.glob("finance/fx_rates/*/*.parquet"))[0]
    broken.write_bytes(b"not a parquet file")
    log = tmp_path / "load.jsonl"
    env = {"ELT_DUCKDB_PATH": str(tmp_path / "w.duckdb"), "DBT_PROFILES_DIR": str(REPO)}
    result = run_elt(
        "load",
        "--target",
        "duckdb",
        "--data-dir",
        str(data),
        "--quiet",
        "--log-json",
        str(log),
        env=env,
    )
    assert result.returncode == 1  # one file failed
    events = [json.loads(line) for line in log.read_text().splitlines()]
    assert all({"ts", "level", "logger", "event"} <= e.keys() for e in events)
    assert events[0]["event"] == "load_planned"
    assert events[-1]["event"] == "load_finished"
    files = [e for e in events if e["event"].startswith("file_")]
    all_files = [p for p in data.rglob("*") if p.is_file() and "_meta" not in p.parts]
    assert len(files) == events[0]["files_new"] == len(all_files)
    [failed] = [e for e in files if e["status"] == "failed"]
    assert failed["level"] == "error"
    assert failed["file"] == str(broken.relative_to(data))
    assert any(e["level"] == "warning" and e["rows_quarantined"] > 0 for e in files)
    summary = events[-1]
    assert summary["ok"] is False
    assert summary["level"] == "error"
    assert summary["rows_loaded"] == sum(e["rows_loaded"] for e in files)
    assert summary["rows_quarantined"] == sum(e["rows_quarantined"] for e in files)


def test_without_elementary_no_elementary_node_is_enabled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default: the project parses with no package, every elementary test disabled."""
    monkeypatch.delenv("ELT_ELEMENTARY_PACKAGES", raising=False)
    result = dbt(tmp_path, "duckdb", "parse")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "not installed" not in result.stdout  # dbt's "packages ... not installed" error
    manifest = json.loads((tmp_path / "target" / "manifest.json").read_text())
    assert not [k for k in manifest["nodes"] if ".elementary." in k or "elementary_" in k]
    disabled = [k for k in manifest["disabled"] if "anomalies" in k or "schema_changes" in k]
    assert len(disabled) >= 6 * 3 + 2  # 3 monitors per raw table, 2 on fct_order_items


# --- elementary, when the optional package is installed -----------------------------------


# where `make elementary-packages` and `make elementary-packages-from-git` put the packages
VENDORED_PACKAGES = REPO / "vendor" / "dbt_packages"
GET_PACKAGES = (
    "make elementary-packages (with internet), or offline from local git clones of "
    "elementary-data/dbt-data-reliability and dbt-labs/dbt-utils: make elementary-packages-from-git "
    "ELEMENTARY_GIT=<clone> DBT_UTILS_GIT=<clone> (docs/observability.md)"
)


def elementary_packages() -> Path:
    """ELT_ELEMENTARY_PACKAGES, or vendor/dbt_packages when a make target filled it: the test
    runs whenever a local copy is there. CI sets ELT_REQUIRE_ELEMENTARY=1 when it made one."""
    path = Path(os.environ.get("ELT_ELEMENTARY_PACKAGES") or VENDORED_PACKAGES)
    if not (path / "elementary" / "dbt_project.yml").is_file():
        reason = f"elementary's dbt package is not in {path}; get a local copy with {GET_PACKAGES}"
        if os.environ.get("ELT_REQUIRE_ELEMENTARY", "") in ("1", "true", "yes"):
            pytest.fail(f"{reason}; ELT_REQUIRE_ELEMENTARY=1 makes the elementary tests mandatory")
        pytest.skip(reason)
    return path


def edr_command() -> Path:
    found = Path(sys.executable).with_name("edr")
    if not found.exists():
        pytest.skip("edr (elementary-data) is not installed: pip install -e '.[observe]'")
    return found


def report_data(html: Path) -> dict[str, Any]:
    match = re.search(
        r"window\.elementaryData = JSON\.parse\(atob\('([^']+)'\)\)", html.read_text()
    )
    assert match, "the report holds no elementaryData"
    data: dict[str, Any] = json.loads(base64.b64decode(match.group(1)))
    return data


def drift_day(wh: Wh, work: Path, packages: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Three quiet days, then the day shop.orders gains a column, each built with elementary."""
    db = wh.env.get("ELT_PG_DATABASE")
    drift = START + dt.timedelta(days=3)
    cfg = GeneratorConfig(scale=0.005, seed=17, start=START, drift_date=drift)
    data = work / "data"
    generate(data, cfg, days=3)  # the days before the drift
    assert wh.load(data).ok
    monkeypatch.setenv("ELT_ELEMENTARY_PACKAGES", str(packages))
    first = dbt(work, wh.kind, "build", database=db)
    assert first.returncode == 0, first.stdout[-4000:]
    generate(data, cfg, days=1, cont=True)  # the drift day: orders gain coupon_code
    report = wh.load(data)
    assert any("coupon_code" in note for note in report.drift)
    second = dbt(work, wh.kind, "build", database=db)
    assert second.returncode == 0, second.stdout[-4000:]


@pytest.mark.slow
def test_elementary_monitors_catch_the_drift_day(
    wh: Wh, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    drift_day(wh, tmp_path, elementary_packages(), monkeypatch)
    results = json.loads((tmp_path / "target" / "run_results.json").read_text())["results"]
    schema_tests = {
        r["unique_id"]: r["status"]
        for r in results
        if r["unique_id"].startswith("test.elt_warehouse.elementary_source_schema_changes_")
    }
    fired = [uid for uid, status in schema_tests.items() if status != "pass"]
    assert len(schema_tests) == 6, schema_tests
    assert len(fired) == 1, schema_tests
    assert "shop_orders" in fired[0]
    # the anomaly monitors ran too (their verdicts depend on too little history to assert)
    anomalies = [
        r for r in results if ".elementary_" in r["unique_id"] and "anomal" in r["unique_id"]
    ]
    assert anomalies, "no elementary anomaly test ran"


@pytest.mark.slow
def test_elementary_report_shows_the_drift(
    wh: Wh, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    packages = elementary_packages()
    edr_path = edr_command()
    db = wh.env.get("ELT_PG_DATABASE")
    drift_day(wh, tmp_path, packages, monkeypatch)
    # edr report, as `make observe` runs it
    html = tmp_path / "report.html"
    from elt.tests.dbt_runner import dbt_env

    env = {**dbt_env(tmp_path, wh.kind, db), "DBT_PACKAGES_FOLDER": str(packages)}
    reported = subprocess.run(
        [
            str(edr_path),
            "report",
            "--profiles-dir",
            str(REPO),
            "--profile-target",
            wh.kind,
            "--config-dir",
            str(REPO / "observability" / "edr"),
            "--target-path",
            str(tmp_path / "edr"),
            "--file-path",
            str(html),
            "--open-browser",
            "false",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    assert reported.returncode == 0, reported.stdout[-3000:] + reported.stderr[-3000:]
    shown = report_data(html)
    assert {
        "model.elt_warehouse.fct_order_items",
        "model.elt_warehouse.rpt_pipeline_health",
    } <= set(shown["models"])
    orders_schema = [
        r["metadata"]
        for r in shown["test_results"].get("source.elt_warehouse.shop.orders", [])
        if "schema_changes" in r["metadata"]["test_unique_id"]
    ]
    assert [(m["latest_run_status"], m["test_sub_type"]) for m in orders_schema] == [
        ("warn", "column_added")
    ]
    assert "coupon_code" in orders_schema[0]["result"]["result_description"]
    others = [
        r["metadata"]["latest_run_status"]
        for key, results_ in shown["test_results"].items()
        if key != "source.elt_warehouse.shop.orders"
        for r in results_
        if "schema_changes" in r["metadata"]["test_unique_id"]
    ]
    assert others == ["pass"] * 5, others
    assert shown["test_results_totals"], "no test results in the report"
