"""Disaster-recovery drills: lose the warehouse, get it back (both databases).

1. backup → destroy → restore (+ `dbt build` for what is derived) → the marts are identical
   (rows and a hash of the ordered rows) and the snapshot's audit trail is back;
2. destroy → rebuild from the raw files → the same marts.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from elt.generator.config import GeneratorConfig
from elt.generator.run import generate
from elt.tests.conftest import run_elt
from elt.tests.loader_helpers import Wh
from elt.tests.mart_checks import build, differing, drop_warehouse, fingerprints

pytestmark = pytest.mark.slow
MONDAY = dt.date(2025, 3, 3)


def test_backup_restore_and_rebuild_give_back_the_same_marts(wh: Wh, tmp_path: Path) -> None:
    data = tmp_path / "data"
    generate(data, GeneratorConfig(scale=0.005, seed=4, start=MONDAY), days=3)
    assert wh.load(data).ok
    build(wh, tmp_path, allow_warnings=True)
    before = fingerprints(wh)
    snapshot = wh.sql("select count(*) from snapshots.snp_rpt_daily_sales")
    manifest = wh.sql("select count(*) from raw._elt_manifest")

    backups = tmp_path / "backups"
    made = run_elt("backup", "--target", wh.kind, "--to", str(backups), env=wh.env)
    assert made.returncode == 0, made.stderr
    [folder] = list(backups.iterdir())
    info = json.loads((folder / "backup.json").read_text())
    assert info["rows"]["raw._elt_manifest"] == manifest[0][0]
    assert info["rows"]["snapshots.snp_rpt_daily_sales"] == snapshot[0][0]

    # drill 1: the warehouse is lost; the backup brings back what files cannot
    drop_warehouse(wh)
    restored = run_elt("restore", "--target", wh.kind, str(folder), env=wh.env)
    assert restored.returncode == 0, restored.stderr
    assert "now run dbt build" in restored.stdout
    build(wh, tmp_path, allow_warnings=True)
    assert differing(before, fingerprints(wh)) == []
    assert wh.sql("select count(*) from snapshots.snp_rpt_daily_sales") == snapshot
    assert wh.sql("select count(*) from raw._elt_manifest") == manifest

    # a damaged backup is refused before the warehouse is touched
    dump = folder / info["dump"]
    damaged_bytes = bytearray(dump.read_bytes())
    damaged_bytes[len(damaged_bytes) // 2] ^= 0xFF
    dump.write_bytes(bytes(damaged_bytes))
    damaged = run_elt("restore", "--target", wh.kind, str(folder), env=wh.env)
    assert damaged.returncode == 2
    assert "does not match the sha256 recorded" in damaged.stderr
    assert wh.sql("select count(*) from raw._elt_manifest") == manifest

    # drill 2: lost with no backup: rebuilt from the raw files alone
    drop_warehouse(wh)
    assert wh.load(data).ok
    build(wh, tmp_path, allow_warnings=True)
    assert differing(before, fingerprints(wh)) == []


def test_make_clean_keeps_the_warehouse_and_clean_warehouse_backs_it_up(tmp_path: Path) -> None:
    """`make clean` once deleted the only copy of raw, the manifest, the quarantine and the
    snapshot (issue 14): now it removes dbt's output only, and `make clean-warehouse` backs the
    warehouse up before deleting it (restorable)."""
    import shutil
    import subprocess
    import sys

    from elt.tests.conftest import REPO
    from elt.tests.loader_helpers import make_wh

    project = tmp_path / "project"
    project.mkdir()
    for name in ("Makefile", "pyproject.toml", "dbt_project.yml", "profiles.yml"):
        shutil.copy2(REPO / name, project / name)
    shutil.copytree(REPO / "environments", project / "environments")
    shutil.copytree(REPO / "models", project / "models")
    (project / "target").mkdir()
    wh = make_wh("duckdb", tmp_path, None)
    data = tmp_path / "data"
    generate(data, GeneratorConfig(scale=0.002, seed=4, start=MONDAY), days=1)
    assert wh.load(data).ok
    warehouse = Path(wh.env["ELT_DUCKDB_PATH"])
    manifest = wh.sql("select count(*) from raw._elt_manifest")
    venv = Path(sys.executable).parent.parent

    def make(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                "make",
                "--no-print-directory",
                *args,
                f"VENV={venv}",
                "ELT_NO_INSTALL=1",
                f"DUCKDB_PATH={warehouse}",
                f"BACKUP_DIR={tmp_path / 'backups'}",
            ],
            cwd=project,
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )

    cleaned = make("clean")
    assert cleaned.returncode == 0, cleaned.stderr
    assert not (project / "target").exists()
    assert warehouse.is_file()
    removed = make("clean-warehouse")
    assert removed.returncode == 0, removed.stdout + removed.stderr
    assert not warehouse.exists()
    [folder] = list((tmp_path / "backups").iterdir())
    restored = run_elt("restore", "--target", "duckdb", str(folder), env=wh.env)
    assert restored.returncode == 0, restored.stderr
    assert wh.sql("select count(*) from raw._elt_manifest") == manifest
