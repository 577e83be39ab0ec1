"""``elt backup`` / ``elt restore``: what the files cannot give back, with the databases' own tools.

What cannot be rebuilt from the data directory: the loader's manifest and quarantine, the
raw rows of files that were archived away or deleted (``elt archive``), and the snapshot
(the audit trail of published figures). Everything else is derived by ``dbt build``.

- **DuckDB**: the warehouse file, copied while the backup holds its lock (no load or build
  can write meanwhile), after a checkpoint: one file, everything in it (marts included).
- **PostgreSQL**: ``pg_dump --format custom`` of the ``raw`` and ``snapshots`` schemas, as
  the administrator (ELT_PG_ADMIN_USER), holding the loader's advisory lock so no load or
  dbt model writes meanwhile. Restore drops those schemas (and, through them, the views
  built on raw: run ``dbt build`` after it) and runs ``pg_restore`` in one transaction.

A backup is a folder ``<dir>/<UTC time>-<target type>/`` with the dump and ``backup.json``:
the row count of every table backed up and the sha256 of the dump. ``restore`` checks the
hash before touching the warehouse and the row counts after.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import duckdb

from elt.errors import LoaderError
from elt.loader.files import sha256_file
from elt.pgsetup import Admin, tls_settings
from elt.warehouse.engines import choose
from elt.warehouse.profile import Target

SCHEMAS = ("raw", "snapshots")
INFO = "backup.json"


@dataclasses.dataclass
class Backup:
    folder: Path
    kind: str  # duckdb | postgres
    created_at: str
    rows: dict[str, int]  # schema.table -> rows
    dump: str  # file name in the folder
    sha256: str
    seconds: float = 0.0

    @property
    def size(self) -> int:
        return (self.folder / self.dump).stat().st_size


def _duck_rows(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    tables = con.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_type = 'BASE TABLE' and list_contains(?, table_schema) order by 1, 2",
        [list(SCHEMAS)],
    ).fetchall()
    return {
        f"{s}.{t}": int(con.execute(f'select count(*) from "{s}"."{t}"').fetchall()[0][0])
        for s, t in tables
    }


def _write_info(b: Backup) -> None:
    info = {k: v for k, v in dataclasses.asdict(b).items() if k not in ("folder", "seconds")}
    (b.folder / INFO).write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")


def read_backup(folder: Path) -> Backup:
    try:
        info = json.loads((folder / INFO).read_text())
    except (OSError, ValueError) as exc:
        raise LoaderError(f"{folder} is not a backup ({INFO}: {exc})") from None
    return Backup(
        folder, info["kind"], info["created_at"], info["rows"], info["dump"], info["sha256"]
    )


def _new_folder(root: Path, kind: str) -> tuple[Path, str]:
    now = dt.datetime.now(dt.UTC)
    folder = root / f"{now.strftime('%Y%m%dT%H%M%S%fZ')}-{kind}"
    folder.mkdir(parents=True)
    return folder, now.isoformat(timespec="seconds")


# --- DuckDB ---------------------------------------------------------------------------------


def _open_duckdb(path: Path) -> duckdb.DuckDBPyConnection:
    try:
        return duckdb.connect(str(path))
    except duckdb.Error as exc:
        raise LoaderError(f"cannot open {path}: {str(exc).splitlines()[0]}") from None


def backup_duckdb(path: Path, root: Path) -> Backup:
    if not path.is_file():
        raise LoaderError(f"no DuckDB warehouse at {path}")
    con = _open_duckdb(path)  # holds the file's lock until the copy is done
    try:
        con.execute("checkpoint")
        rows = _duck_rows(con)
        folder, created = _new_folder(root, "duckdb")
        shutil.copyfile(path, folder / "warehouse.duckdb")
    finally:
        con.close()
    b = Backup(
        folder,
        "duckdb",
        created,
        rows,
        "warehouse.duckdb",
        sha256_file(folder / "warehouse.duckdb"),
    )
    check = duckdb.connect(str(folder / "warehouse.duckdb"), read_only=True)
    try:
        if _duck_rows(check) != rows:
            raise LoaderError(f"the copy in {folder} does not hold the warehouse's rows")
    finally:
        check.close()
    _write_info(b)
    return b


def restore_duckdb(b: Backup, path: Path) -> None:
    tmp = path.with_name(path.name + ".restoring")
    shutil.copyfile(b.folder / b.dump, tmp)
    check = duckdb.connect(str(tmp), read_only=True)
    try:
        if _duck_rows(check) != b.rows:
            raise LoaderError(f"the backup in {b.folder} does not hold the rows it recorded")
    finally:
        check.close()
    if path.exists():
        con = _open_duckdb(path)  # nobody else may have the warehouse open while it is replaced
        con.close()
    path.with_name(path.name + ".wal").unlink(missing_ok=True)
    os.replace(tmp, path)


# --- PostgreSQL -----------------------------------------------------------------------------


def _pg_args(admin: Admin) -> list[str]:
    return [
        "--host",
        admin.host,
        "--port",
        str(admin.port),
        "--username",
        admin.user,
        "--dbname",
        admin.database,
    ]


def _pg_env(admin: Admin) -> dict[str, str]:
    tls = {f"PG{k.upper()}": v for k, v in tls_settings().items()}  # PGSSLMODE, PGSSLROOTCERT
    return {**os.environ, "PGPASSWORD": admin.password or "", "PGCONNECT_TIMEOUT": "10", **tls}


def _pg_rows(cur: Any) -> dict[str, int]:
    cur.execute(
        "select schemaname, tablename from pg_tables where schemaname = any(%s) order by 1, 2",
        [list(SCHEMAS)],
    )
    out = {}
    for s, t in cur.fetchall():
        cur.execute(f'select count(*) from "{s}"."{t}"')
        out[f"{s}.{t}"] = int(cur.fetchone()[0])
    return out


def _run(cmd: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise LoaderError(
            f"{what} failed: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode}"
        )


def backup_postgres(admin: Admin, root: Path) -> Backup:
    from elt.warehouse.postgres import LOCK_KEY

    conn = admin.connect(admin.database)
    try:
        with conn.cursor() as cur:
            # no load (the loader's lock) and no dbt model (which takes it shared) meanwhile
            cur.execute("select pg_advisory_lock(%s)", [LOCK_KEY])
            rows = _pg_rows(cur)
        conn.commit()
        folder, created = _new_folder(root, "postgres")
        dump = folder / "warehouse.dump"
        _run(
            [
                "pg_dump",
                *_pg_args(admin),
                "--format",
                "custom",
                "--file",
                str(dump),
                *[a for s in SCHEMAS for a in ("--schema", s)],
            ],
            _pg_env(admin),
            "pg_dump",
        )
    finally:
        conn.close()  # releases the lock
    b = Backup(folder, "postgres", created, rows, dump.name, sha256_file(dump))
    _run(
        ["pg_restore", "--list", str(dump)], _pg_env(admin), "pg_restore --list (checking the dump)"
    )
    _write_info(b)
    return b


def restore_postgres(b: Backup, admin: Admin) -> None:
    from elt.warehouse.postgres import LOCK_KEY

    conn = admin.connect(admin.database)
    try:
        with conn.cursor() as cur:
            cur.execute("select pg_advisory_lock(%s)", [LOCK_KEY])
            for schema in SCHEMAS:  # the views dbt built on raw go too: `dbt build` remakes them
                cur.execute(f'drop schema if exists "{schema}" cascade')
        conn.commit()
        _run(
            [
                "pg_restore",
                *_pg_args(admin),
                "--single-transaction",
                "--exit-on-error",
                str(b.folder / b.dump),
            ],
            _pg_env(admin),
            "pg_restore",
        )
        with conn.cursor() as cur:
            got = _pg_rows(cur)
        conn.commit()
    finally:
        conn.close()
    if got != b.rows:
        raise LoaderError(f"restored rows differ from the backup's record: {got} != {b.rows}")


# --- entry points ---------------------------------------------------------------------------


def backup(target: Target, root: Path) -> Backup:
    began = dt.datetime.now(dt.UTC)
    b = choose(
        target,
        {
            "duckdb": lambda: backup_duckdb(Path(str(target.settings.get("path"))), root),
            "postgres": lambda: backup_postgres(Admin.from_env(), root),
        },
        "backup",
    )
    b.seconds = (dt.datetime.now(dt.UTC) - began).total_seconds()
    return b


def restore(target: Target, folder: Path) -> Backup:
    began = dt.datetime.now(dt.UTC)
    b = read_backup(folder)
    if b.kind != target.type:
        raise LoaderError(f"{folder} is a {b.kind} backup; the target is {target.type}")
    if sha256_file(folder / b.dump) != b.sha256:
        raise LoaderError(f"{folder / b.dump} does not match the sha256 recorded at backup time")
    choose(
        target,
        {
            "duckdb": lambda: restore_duckdb(b, Path(str(target.settings.get("path")))),
            "postgres": lambda: restore_postgres(b, Admin.from_env()),
        },
        "restore",
    )
    b.seconds = (dt.datetime.now(dt.UTC) - began).total_seconds()
    return b
