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
