"""``elt setup-postgres``: the warehouse database and its three roles, idempotently.

- loader (``elt_loader``): owns and writes the ``raw`` schema;
- transformer (``elt_transformer``): dbt; reads ``raw``, creates and writes the model schemas;
- analyst (``elt_analyst``): reads the published schema only (``analytics``; `elt publish` grants its views).

Runs as an administrator (a role that may create databases and roles). Every statement
is safe to repeat. Role names and passwords come from the environment; nothing is stored.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from typing import Any

import psycopg2
import psycopg2.extensions
from psycopg2 import sql

from elt.errors import LoaderError


@dataclasses.dataclass(frozen=True)
class Roles:
    loader: str = "elt_loader"
    transformer: str = "elt_transformer"
    analyst: str = "elt_analyst"

    @classmethod
    def from_env(cls) -> Roles:
        return cls(
            os.environ.get("ELT_PG_LOADER_USER", cls.loader),
            os.environ.get("ELT_PG_TRANSFORMER_USER", cls.transformer),
            os.environ.get("ELT_PG_ANALYST_USER", cls.analyst),
        )


def tls_settings() -> dict[str, str]:
    """libpq's TLS settings from the environment, as profiles.yml gives them to dbt:
    ELT_PG_SSLMODE (default prefer; verify-full in production) and ELT_PG_SSLROOTCERT."""
    settings = {"sslmode": os.environ.get("ELT_PG_SSLMODE") or "prefer"}
    if os.environ.get("ELT_PG_SSLROOTCERT"):
        settings["sslrootcert"] = os.environ["ELT_PG_SSLROOTCERT"]
    return settings


@dataclasses.dataclass(frozen=True)
class Admin:
    host: str
    port: int
    user: str
    password: str | None
    database: str  # the warehouse database to create and set up

    @classmethod
    def from_env(cls) -> Admin:
        return cls(
            os.environ.get("ELT_PG_HOST", "127.0.0.1"),
            int(os.environ.get("ELT_PG_PORT", "5432")),
            os.environ.get("ELT_PG_ADMIN_USER", "postgres"),
            os.environ.get("ELT_PG_ADMIN_PASSWORD") or None,
            os.environ.get("ELT_PG_DATABASE", "elt_warehouse"),
        )

    def describe(self, dbname: str) -> str:
        return f"postgres {self.user}@{self.host}:{self.port}/{dbname}"

    def connect(self, dbname: str) -> psycopg2.extensions.connection:
        params: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "password": self.password,
            "dbname": dbname,
            "connect_timeout": 10,
            "application_name": "elt-setup",
            **tls_settings(),
        }
        try:
            conn: psycopg2.extensions.connection = psycopg2.connect(**params)
        except psycopg2.OperationalError as exc:
            raise LoaderError(
                f"cannot connect to {self.describe(dbname)}: {' '.join(str(exc).split())}"
            ) from None
        conn.autocommit = True
        return conn


def _ensure_role(cur: psycopg2.extensions.cursor, role: str, password: str | None) -> None:
    cur.execute("select 1 from pg_roles where rolname = %s", [role])
    if cur.fetchone() is None:
        # roles belong to the cluster: a set-up of another database may create it meanwhile
        with contextlib.suppress(psycopg2.errors.DuplicateObject, psycopg2.errors.UniqueViolation):
            cur.execute(sql.SQL("create role {} login").format(sql.Identifier(role)))
    if password:
        cur.execute(
            sql.SQL("alter role {} with login password %s").format(sql.Identifier(role)), [password]
        )


# the production schemas (ELT_ENV=prod; dev and ci schemas are prefixed and made by dbt and
# `elt publish` themselves): dbt's build area, then what `elt publish` writes
BUILD_SCHEMAS = ("staging", "intermediate", "snapshots", "reference", "marts")
PUBLISH_SCHEMAS = ("analytics", "publish")


def setup(admin: Admin, roles: Roles) -> list[str]:
    """Create what is missing and (re)apply every grant; returns what was done, for the log."""
    done = []
    conn = admin.connect("postgres")  # not `with conn`: psycopg2 would open a transaction
    with conn.cursor() as cur:
        cur.execute("select 1 from pg_database where datname = %s", [admin.database])
        if cur.fetchone() is None:
            cur.execute(sql.SQL("create database {}").format(sql.Identifier(admin.database)))
            done.append(f"created database {admin.database}")
        for role, env in (
            (roles.loader, "ELT_PG_LOADER_PASSWORD"),
            (roles.transformer, "ELT_PG_TRANSFORMER_PASSWORD"),
            (roles.analyst, "ELT_PG_ANALYST_PASSWORD"),
        ):
            _ensure_role(cur, role, os.environ.get(env))
        done.append(f"roles {roles.loader}, {roles.transformer}, {roles.analyst} present")
    conn.close()
    db = sql.Identifier(admin.database)
    loader, transformer, analyst = (
        sql.Identifier(r) for r in (roles.loader, roles.transformer, roles.analyst)
    )
    conn = admin.connect(admin.database)
    with conn.cursor() as cur:
        statements = [
            sql.SQL("revoke all on database {} from public").format(db),
            sql.SQL("revoke create on schema public from public"),
            sql.SQL("grant connect on database {} to {}, {}, {}").format(
                db, loader, transformer, analyst
            ),
            sql.SQL("grant create, temporary on database {} to {}, {}").format(
                db, loader, transformer
            ),
            # raw: the loader owns it; the transformer reads it, today and tomorrow
            sql.SQL("create schema if not exists raw authorization {}").format(loader),
            sql.SQL("alter schema raw owner to {}").format(loader),
            sql.SQL("grant usage on schema raw to {}").format(transformer),
            sql.SQL("grant select on all tables in schema raw to {}").format(transformer),
            sql.SQL(
                "alter default privileges for role {} in schema raw grant select on tables to {}"
            ).format(loader, transformer),
        ]
        # the schemas dbt and `elt publish` write: the transformer's; analysts read only the
        # published schema (`elt publish` grants its views), never the build area
        for schema in (*BUILD_SCHEMAS, *PUBLISH_SCHEMAS):
            statements.append(
                sql.SQL("create schema if not exists {} authorization {}").format(
                    sql.Identifier(schema), transformer
                )
            )
            statements.append(
                sql.SQL("alter schema {} owner to {}").format(sql.Identifier(schema), transformer)
            )
        statements += [
            # before write-audit-publish, dbt granted the marts to analysts: taken back
            sql.SQL("revoke all on schema marts from {}").format(analyst),
            sql.SQL("revoke all on all tables in schema marts from {}").format(analyst),
            sql.SQL("grant usage on schema analytics to {}").format(analyst),
        ]
        # JIT compilation costs more than it saves here: analysts run short queries (up to
        # 1.4 s on sub-second queries at scale 1); a night's models and tests read a few rows
        # through plans the planner estimates large (a filter on a subquery's value), and paid
        # 1.7-2.3 s per query for it (a reconciliation test: 0.5 s without); and a full
        # refresh gains nothing (the parse of 2M order lines: 14.7 s with, 14.0 s without)
        for login in (analyst, transformer):
            statements.append(
                sql.SQL("alter role {} in database {} set jit = off").format(login, db)
            )
        for statement in statements:
            cur.execute(statement)
    conn.close()
    done.append(
        f"schema raw owned by {roles.loader} and readable by {roles.transformer}; model schemas owned by "
        f"{roles.transformer}; {roles.analyst} may read analytics (the views `elt publish` grants it); "
        f"{roles.transformer} and {roles.analyst} run without JIT compilation"
    )
    return done
