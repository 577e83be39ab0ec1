"""Build a warehouse with dbt and compare its marts: fingerprints of ordered rows, row identities."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from elt.tests.conftest import MARTS, RUN_HISTORY_MARTS, pg_settings
from elt.tests.dbt_runner import dbt
from elt.tests.loader_helpers import Wh

# columns documented as run metadata: they record when rows were loaded, so two warehouses
# built from the same files differ there (docs: source_loaded_at)
RUN_METADATA_COLUMNS = {"source_loaded_at", "batch_id"}
# pipeline health and the run history report the loader's and dbt's own runs: run metadata as
# a whole (the run history is warehouse-only state, kept by backups, not rebuilt from files)
RUN_MARTS = {"rpt_pipeline_health", *RUN_HISTORY_MARTS}
DATA_MARTS = [m for m in MARTS if m not in RUN_MARTS]


def build(wh: Wh, work: Path, *args: str, allow_warnings: bool = False) -> dict[str, Any]:
    """`dbt build` that must succeed; returns run_results.json."""
    result = dbt(work, wh.kind, "build", *args, database=wh.env.get("ELT_PG_DATABASE"))
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "ERROR=0" in result.stdout, result.stdout[-3000:]
    if not allow_warnings:
        assert "WARN=0" in result.stdout, result.stdout[-3000:]
    results: dict[str, Any] = json.loads((work / "target" / "run_results.json").read_text())
    return results


def columns(wh: Wh, schema: str, table: str) -> list[str]:
    rows = wh.sql(
        "select column_name from information_schema.columns "
        f"where table_schema = '{schema}' and table_name = '{table}' order by ordinal_position"
    )
    return [r[0] for r in rows]


def fingerprints(wh: Wh, schema: str = "marts") -> dict[str, tuple[int, str]]:
    """Per data mart: (rows, sha256 of every row in order), run metadata columns left out."""
    out = {}
    for mart in DATA_MARTS:
        cols = [c for c in columns(wh, schema, mart) if c not in RUN_METADATA_COLUMNS]
        assert cols, mart
        order = ", ".join(str(i + 1) for i in range(len(cols)))
        rows = wh.sql(f"select {', '.join(cols)} from {schema}.{mart} order by {order}")
        out[mart] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
    return out


def differing(a: dict[str, tuple[int, str]], b: dict[str, tuple[int, str]]) -> list[str]:
    return [m for m in a if a[m] != b.get(m)]


def drop_warehouse(wh: Wh) -> None:
    """Lose the warehouse (the raw files stay): the DuckDB file, or the PostgreSQL database,
    which is then created again empty by the project's own set-up."""
    if wh.kind == "duckdb":
        path = Path(wh.env["ELT_DUCKDB_PATH"])
        path.unlink()
        path.with_name(path.name + ".wal").unlink(missing_ok=True)
        return
    import psycopg2

    from elt.pgsetup import Admin, Roles, setup

    s = pg_settings()
    name = wh.env["ELT_PG_DATABASE"]
    conn = psycopg2.connect(dbname="postgres", **s)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'drop database "{name}" with (force)')
    conn.close()
    setup(Admin(s["host"], int(s["port"]), s["user"], s["password"] or None, name), Roles())


def row_identities(wh: Wh, table: str, key: str) -> dict[str, str]:
    """key -> the transaction that wrote its row (PostgreSQL's xmin): a row that an incremental
    run deleted and inserted again gets a new one. (DuckDB has no such identity: its row ids
    are renumbered when a checkpoint compacts deleted rows.)"""
    assert wh.kind == "postgres"
    return {str(k): str(v) for k, v in wh.sql(f"select {key}, cast(xmin as text) from {table}")}


def assert_emails_hashed_with_the_key(wh: Wh, work: Path) -> None:
    """dim_customer.email_hash is HMAC-SHA-256 with the test's key (so the same on every
    database); unkeyed digests of the raw emails match nothing; the key appears in no
    compiled SQL, manifest or log of the build."""
    from elt.loader.hash_key import email_hash
    from elt.tests.conftest import TEST_EMAIL_HASH_KEY

    emails = [
        r[0]
        for r in wh.sql("select distinct email from raw.shop__customers where email is not null")
    ]
    hashes = {
        r[0]
        for r in wh.sql("select email_hash from marts.dim_customer where email_hash is not null")
    }
    assert len(hashes) > 10
    # staging's cleaning: SQL trim (spaces only), lower case
    keyed = {email_hash(TEST_EMAIL_HASH_KEY.encode(), e.strip(" ").lower()) for e in emails}
    assert hashes <= keyed, sorted(hashes - keyed)[:3]
    plain = {
        digest(form.encode()).hexdigest()
        for e in emails
        for form in (e, e.strip(), e.strip().lower(), e.strip(" ").lower())
        for digest in (hashlib.md5, hashlib.sha256, hashlib.sha1)
    }
    assert hashes & plain == set()
    for folder in (work / "target", work / "logs"):
        for path in folder.rglob("*"):
            if path.is_file() and path.suffix in (".sql", ".json", ".log"):
                assert TEST_EMAIL_HASH_KEY not in path.read_text(errors="replace"), path
