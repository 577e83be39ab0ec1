"""What a night builds (elt/scope.py): by the files that arrived, not by the clock."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from elt.errors import LoaderError
from elt.loader.config import load_sources
from elt.loader.warehouse import ManifestEntry
from elt.publish.audit import audit
from elt.scope import (
    NIGHT_MODELS,
    Mark,
    Scope,
    all_rows_every,
    build_mark,
    decide,
    project_fingerprint,
    rebuild_share,
)

REPO = Path(__file__).resolve().parents[3]
T0 = dt.datetime(2026, 3, 1, 2, 0, tzinfo=dt.UTC)
TABLES = load_sources(REPO)


def entry(
    raw_table: str, minutes: int, status: str = "loaded", rel: str = "", rows: int = 1
) -> ManifestEntry:
    at = T0 + dt.timedelta(minutes=minutes)
    return ManifestEntry(
        rel or f"{raw_table}/{minutes}.csv", "sha", status, 1, None, rows, at, "", raw_table
    )


def mark(minutes: int = 0, project: str = "p", all_rows_days_ago: float = 1) -> Mark:
    return Mark(
        (T0 + dt.timedelta(minutes=minutes)).isoformat(),
        project,
        (T0 - dt.timedelta(days=all_rows_days_ago)).isoformat(),
    )


NOW = T0 + dt.timedelta(hours=1)


def test_the_first_night_builds_everything_and_tests_every_row() -> None:
    scope = decide([entry("raw.shop__orders", 0)], TABLES, None, "p", now=NOW)
    assert scope.sources is None
    assert scope.all_rows
    assert not scope.nothing_new
    assert scope.dbt_args() == ("--vars", "{test_all_rows: true}")
    assert scope.mark.loaded_through == T0.isoformat()
    assert scope.mark.all_rows_at == NOW.isoformat(timespec="seconds")


def test_a_night_builds_what_the_new_files_reach_and_the_nights_own_marts() -> None:
    entries = [
        entry("raw.shop__orders", 0),
        entry("raw.shop__orders", 30),
        entry("raw.payments__payments", 40),
        entry("raw.shop__products", 50, status="failed"),  # not in the raw table
        entry("raw.shop__customers", 55, status="renamed"),  # its rows were there already
    ]
    scope = decide(entries, TABLES, mark(10), "p", now=NOW)
    assert scope.sources == ("payments.payments", "shop.orders")
    assert scope.files == 2
    assert not scope.all_rows
    selected = scope.dbt_args()
    assert selected[0] == "--select"
    # unit tests check the code, which is the last published night's: left out
    assert selected[-2:] == ("--exclude-resource-type", "unit_test")
    assert set(selected[1:-2]) == {
        "source:payments.payments+",
        "source:shop.orders+",
        *NIGHT_MODELS,
    }
    assert "2 files loaded for payments.payments, shop.orders" in scope.describe()
    # once published, the next night starts after the newest load seen
    assert scope.mark.loaded_through == (T0 + dt.timedelta(minutes=40)).isoformat()
    assert scope.mark.all_rows_at == mark().all_rows_at


def test_a_reloaded_file_is_new_data() -> None:
    """`elt load --reload` rewrites the file's manifest row: it finishes after the mark."""
    reloaded = entry("raw.shop__order_items", 20, rel="shop/order_items/2026-02-27/part-000.csv")
    scope = decide([entry("raw.shop__orders", 0), reloaded], TABLES, mark(10), "p", now=NOW)
    assert scope.sources == ("shop.order_items",)


def test_a_night_without_new_files_builds_nothing() -> None:
    scope = decide([entry("raw.shop__orders", 0)], TABLES, mark(0), "p", now=NOW)
    assert scope.nothing_new
    assert scope.describe().startswith("scope: nothing new: no file loaded since")
    assert scope.mark == mark(0)


def test_a_changed_project_builds_everything() -> None:
    scope = decide([entry("raw.shop__orders", 0)], TABLES, mark(0), "q", now=NOW)
    assert scope.sources is None
    assert not scope.nothing_new
    assert "the project changed" in scope.reason
    assert scope.dbt_args() == ()


def test_the_all_rows_night_comes_every_n_days_even_without_new_files() -> None:
    week_old = mark(0, all_rows_days_ago=7)
    scope = decide([entry("raw.shop__orders", 0)], TABLES, week_old, "p", now=T0)
    assert scope.sources is None
    assert scope.all_rows
    assert "the all-rows night (every 7 days; the last was 7 days ago)" in scope.reason
    assert scope.dbt_args() == ("--vars", "{test_all_rows: true}")
    assert scope.mark.all_rows_at == T0.isoformat(timespec="seconds")
    never = decide([entry("raw.shop__orders", 0)], TABLES, week_old, "p", every_days=0, now=T0)
    assert never.nothing_new


def test_a_catch_up_over_the_rebuild_share_is_rebuilt_from_raw() -> None:
    history = [entry("raw.shop__orders", -1000 + i, rows=100) for i in range(10)]  # 1,000 rows
    day = [entry("raw.shop__orders", 30, rows=100)]  # 100 new rows: 9% of raw
    quarter = [entry("raw.shop__orders", 30 + i, rows=100) for i in range(4)]  # 400: 29%
    scoped = decide(history + day, TABLES, mark(10), "p", rebuild_at=0.25, now=NOW)
    assert scoped.sources == ("shop.orders",)
    assert "--full-refresh" not in scoped.dbt_args()
    rebuilt = decide(history + quarter, TABLES, mark(10), "p", rebuild_at=0.25, now=NOW)
    assert rebuilt.sources is None
    assert rebuilt.full_refresh
    assert rebuilt.all_rows
    assert rebuilt.dbt_args() == ("--full-refresh", "--vars", "{test_all_rows: true}")
    assert "4 files since the last published night hold 29% of raw's rows" in rebuilt.reason
    assert rebuilt.mark.all_rows_at == NOW.isoformat(timespec="seconds")  # every row tested
    assert Scope.from_json(rebuilt.as_json()) == rebuilt
    never = decide(history + quarter, TABLES, mark(10), "p", rebuild_at=0, now=NOW)
    assert not never.full_refresh


def test_the_rebuild_share_is_the_engines_unless_set() -> None:
    assert rebuild_share("postgres", {}) == 0.3
    assert rebuild_share("duckdb", {}) == 0.75
    assert rebuild_share("duckdb", {"ELT_REBUILD_SHARE": "0"}) == 0
    with pytest.raises(LoaderError, match="ELT_REBUILD_SHARE='30%'"):
        rebuild_share("duckdb", {"ELT_REBUILD_SHARE": "30%"})


def test_the_all_rows_interval_is_read_and_checked() -> None:
    assert all_rows_every({}) == 7
    assert all_rows_every({"ELT_ALL_ROWS_EVERY_DAYS": "14"}) == 14
    assert all_rows_every({"ELT_ALL_ROWS_EVERY_DAYS": "0"}) == 0
    with pytest.raises(LoaderError, match="ELT_ALL_ROWS_EVERY_DAYS='weekly'"):
        all_rows_every({"ELT_ALL_ROWS_EVERY_DAYS": "weekly"})


def test_a_mark_survives_its_json() -> None:
    assert Mark.from_json(mark(3).as_json()) == mark(3)
    assert Mark.from_json(None) is None
    assert Mark.from_json({}) is None


def test_the_fingerprint_follows_what_dbt_builds_from(tmp_path: Path) -> None:
    project = tmp_path / "p"
    for part in ("models/marts", "macros", "seeds", "docs"):
        (project / part).mkdir(parents=True)
    (project / "dbt_project.yml").write_text("name: p\n")
    model = project / "models" / "marts" / "m.sql"
    model.write_text("select 1 as a\n")
    first = project_fingerprint(project)
    (project / "docs" / "notes.md").write_text("not read by dbt\n")
    assert project_fingerprint(project) == first
    model.write_text("select 2 as a\n")
    assert project_fingerprint(project) != first
    model.write_text("select 1 as a\n")
    assert project_fingerprint(project) == first
    (project / "seeds" / "s.csv").write_text("a\n1\n")
    assert project_fingerprint(project) != first


def _artifacts(tmp_path: Path, select: list[str] | None, **args: list[str]) -> tuple[Path, Path]:
    """A two-model project's manifest and the run results of a build of one of them."""
    nodes = {
        f"model.p.{name}": {
            "resource_type": "model",
            "package_name": "p",
            "fqn": ["p", "marts", name],
            "config": {"materialized": "table"},
            "database": "d",
            "schema": "marts",
            "unique_id": f"model.p.{name}",
            "name": name,
        }
        for name in ("fct_a", "dim_b")
    }
    manifest = {
        "metadata": {"project_name": "p", "invocation_id": "i"},
        "nodes": nodes,
        "sources": {"source.p.elt.manifest": {"schema": "raw", "identifier": "_elt_manifest"}},
    }
    results = {
        "metadata": {"invocation_id": "i", "generated_at": "2026-03-01T02:00:00Z"},
        "args": {
            "which": "build",
            **({"select": select} if select is not None else {}),
            "exclude_resource_types": ["unit_test"],
            **args,
        },
        "results": [{"unique_id": "model.p.fct_a", "status": "success"}],
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    (tmp_path / "run_results.json").write_text(json.dumps(results))
    return tmp_path / "run_results.json", tmp_path / "manifest.json"


def test_the_audit_passes_a_scoped_build_only_with_its_own_selection(tmp_path: Path) -> None:
    scoped = ("source:shop.orders+", "path:models/marts/operations")
    results, manifest = _artifacts(tmp_path, list(reversed(scoped)))
    passed = audit(results, manifest, scoped, ("unit_test",))
    assert passed.passed
    assert passed.unchanged == 1
    # by hand, the same partial build is refused (no scope vouches for the rest)
    refused = audit(results, manifest)
    assert not refused.passed
    assert "1 node(s) of the project were not part of this build: dim_b" in refused.problems[0]
    # another selection than the night's is refused too
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(manifest, other / "manifest.json")
    results, manifest = _artifacts(other, ["fct_a"])
    assert not audit(results, manifest, scoped, ("unit_test",)).passed


@pytest.mark.parametrize(
    "args",
    [
        {"exclude": ["fct_a"]},  # the night's selection, less a model
        {"resource_types": ["model"]},  # the night's models without their tests
        {"exclude_resource_types": ["unit_test", "test"]},  # ... or without data tests
    ],
)
def test_the_audit_refuses_a_scoped_build_that_left_out_more_than_its_scope(
    tmp_path: Path, args: dict[str, list[str]]
) -> None:
    scoped = ("source:shop.orders+", "path:models/marts/operations")
    results, manifest = _artifacts(tmp_path, list(scoped), **args)
    refused = audit(results, manifest, scoped, ("unit_test",))
    assert not refused.passed
    assert "1 node(s) of the project were not part of this build" in refused.problems[0]


def test_a_build_published_by_hand_marks_the_files_loaded_before_it_started() -> None:
    entries = [
        entry("raw.shop__orders", 0, rows=100),
        entry("raw.shop__orders", 30, rows=100),
        entry("raw.shop__orders", 90, rows=10),  # finished while dbt ran: built next night
        entry("raw.shop__products", 20, status="failed"),
    ]
    started = (T0 + dt.timedelta(minutes=60)).isoformat().replace("+00:00", "Z")
    results = {"metadata": {"invocation_started_at": started}, "args": {"vars": {}}}
    last = mark(0, project="old", all_rows_days_ago=3).as_json()
    built = build_mark(entries, REPO, results, last, now=NOW)
    assert built.loaded_through == (T0 + dt.timedelta(minutes=30)).isoformat()
    assert built.project == project_fingerprint(REPO)
    assert built.all_rows_at == last["all_rows_at"]  # the build tested the new loads only
    # the next night takes the file loaded during the build, not every file since `last`
    scope = decide(entries, TABLES, built, built.project, rebuild_at=0.3, now=NOW)
    assert scope.sources == ("shop.orders",)
    assert scope.files == 1
    # a full refresh (or var test_all_rows) tested every row: an all-rows night
    full = {**results, "args": {"full_refresh": True}}
    assert build_mark(entries, REPO, full, last, now=NOW).all_rows_at == NOW.isoformat(
        timespec="seconds"
    )


def test_a_build_published_by_hand_on_spark_reads_the_manifests_times_as_utc() -> None:
    """Spark returns the manifest's timestamps naive (its session is in UTC): `elt publish`
    after a `dbt build` on Spark compared them with dbt's aware start and failed."""
    from elt.loader.warehouse import manifest_entries

    naive = T0.replace(tzinfo=None)
    rows: list[tuple[object, ...]] = [
        (
            "shop/orders/a.csv",
            "sha",
            "loaded",
            1,
            None,
            5,
            naive,
            "shop.orders",
            "raw.shop__orders",
            None,
            "id",
            naive,
        ),
    ]
    entries = list(manifest_entries(rows).values())
    assert entries[0].finished_at == T0
    started = (T0 + dt.timedelta(minutes=60)).isoformat()
    results = {"metadata": {"invocation_started_at": started}, "args": {}}
    built = build_mark(entries, REPO, results, None, now=NOW)
    assert built.loaded_through == T0.isoformat()
