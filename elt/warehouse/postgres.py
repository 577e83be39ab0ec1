"""PostgreSQL connections: from a dbt target's settings, with errors that say what to do.

Every command that talks to PostgreSQL (load, publish, report, backup) connects here, so a
wrong setting and a server that is down read the same everywhere: a LoaderError when a retry
fails the same way, a TransientError when it may not.
"""

from __future__ import annotations

from typing import Any

import psycopg2
import psycopg2.extensions

from elt.errors import LoaderError, TransientError
from elt.warehouse.profile import Target

# "ELT_LOAD" as a bigint: held for a whole run; dbt's models wait for it (macros/utils/session.sql
# derives the same key from the same 8 bytes)
LOCK_KEY = 0x454C545F4C4F4144 & 0x7FFFFFFFFFFFFFFF


# the connection is gone or the server is shutting down: retry later, nothing half-written
CONNECTION_ERRORS = (psycopg2.OperationalError, psycopg2.InterfaceError)


def connection_lost(exc: BaseException) -> bool:
    """The connection is gone (or the server shutting down), as opposed to an error of the
    statement: psycopg2 also raises OperationalError for a statement beyond a limit (SQLSTATE
    class 54, e.g. more than 1,600 columns), which is the file's error, not a lost server."""
    if isinstance(exc, psycopg2.InterfaceError):
        return True
    if not isinstance(exc, psycopg2.OperationalError):
        return False
    code = getattr(exc, "pgcode", None)
    return code is None or code.startswith(("08", "57", "53"))


def lost(exc: BaseException, doing: str) -> TransientError:
    reason = " ".join(str(exc).split()) or type(exc).__name__
    return TransientError(
        f"lost the connection to PostgreSQL {doing}: {reason}; files committed before it stay "
        "loaded, rerun to load the rest"
    )


def connection_params(
    settings: dict[str, Any], target_name: str, application_name: str
) -> dict[str, Any]:
    """psycopg2's arguments from a dbt postgres target (TLS settings included)."""
    port = settings.get("port") or 5432
    timeout = settings.get("connect_timeout") or 10
    for name, value in (("port", port), ("connect_timeout", timeout)):
        if not str(value).strip().isdigit():
            raise LoaderError(
                f"target {target_name!r}: {name} must be a whole number, got {value!r} "
                f"(set in profiles.yml{', e.g. by ELT_PG_PORT' if name == 'port' else ''})"
            )
    params = {
        "host": settings.get("host"),
        "port": int(port),
        "user": settings.get("user"),
        "password": settings.get("password") or settings.get("pass") or None,
        "dbname": settings.get("dbname") or settings.get("database"),
        "connect_timeout": int(timeout),
        "application_name": application_name,
    }
    for name in ("sslmode", "sslrootcert", "sslcert", "sslkey"):
        if settings.get(name):
            params[name] = str(settings[name])
    return params


def describe(params: dict[str, Any], target_name: str) -> str:
    p = params
    return f"target {target_name!r} (postgres {p['user']}@{p['host']}:{p['port']}/{p['dbname']})"


def connect(params: dict[str, Any], description: str) -> psycopg2.extensions.connection:
    """A connection, or an error naming the target: LoaderError when the settings are wrong
    (a retry fails the same way), TransientError otherwise (server down, network)."""
    try:
        conn: psycopg2.extensions.connection = psycopg2.connect(
            **{k: v for k, v in params.items() if v is not None}
        )
        return conn
    except psycopg2.OperationalError as exc:
        # libpq's message names host, port, database or user; it never holds the password
        reason = " ".join(str(exc).split())
        settings_wrong = any(
            s in reason
            for s in (
                "does not exist",
                "authentication failed",
                "no password supplied",
                "no pg_hba.conf entry",
                "SSL",
                "certificate",
            )
        )
        error = LoaderError if settings_wrong else TransientError
        raise error(f"cannot connect to {description}: {reason}") from None


def open_target(target: Target, application_name: str) -> psycopg2.extensions.connection:
    """A connection to a postgres target, named for ``pg_stat_activity``."""
    params = connection_params(target.settings, target.name, application_name)
    return connect(params, describe(params, target.name))
