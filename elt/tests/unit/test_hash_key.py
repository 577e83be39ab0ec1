"""The email hash key: HMAC-SHA-256 from stored pads, what happens without a key, rotation."""

from __future__ import annotations

from typing import Any

import duckdb
import pytest

from elt.errors import LoaderError
from elt.loader import hash_key


def runner(con: duckdb.DuckDBPyConnection) -> hash_key.Run:
    def run(statement: str, params: list[Any]) -> list[tuple[Any, ...]]:
        return con.execute(statement, params).fetchall()

    return run


@pytest.mark.parametrize("key", [b"k" * 32, b"a much longer key than one sha256 block " * 3])
def test_sql_from_the_pads_is_hmac_sha256(key: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(hash_key.ENV_VAR, key.decode())
    con = duckdb.connect()
    con.execute("create schema raw")
    hash_key.ensure(runner(con), "raw", "blob", "?", production=False)
    for email in ["ana@example.com", "zoë.ünïcode@exämple.org", ""]:
        [(digest,)] = con.execute(
            "select sha256(k.outer_pad || unhex(sha256(k.inner_pad || encode(?)))) "
            f"from raw.{hash_key.TABLE} as k",
            [email],
        ).fetchall()
        assert digest == hash_key.email_hash(key, email)


def test_production_needs_a_key_dev_makes_and_keeps_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(hash_key.ENV_VAR, raising=False)
    con = duckdb.connect()
    con.execute("create schema raw")
    with pytest.raises(LoaderError, match="ELT_EMAIL_HASH_KEY is not set"):
        hash_key.ensure(runner(con), "raw", "blob", "?", production=True)
    assert hash_key.ensure(runner(con), "raw", "blob", "?", production=False) == ""
    made = con.execute(f"select key_id, inner_pad from raw.{hash_key.TABLE}").fetchall()
    assert (
        hash_key.ensure(runner(con), "raw", "blob", "?", production=False) == ""
    )  # kept, not remade
    assert con.execute(f"select key_id, inner_pad from raw.{hash_key.TABLE}").fetchall() == made


def test_rotation_replaces_the_key_and_says_what_to_rebuild(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    con = duckdb.connect()
    con.execute("create schema raw")
    monkeypatch.setenv(hash_key.ENV_VAR, "first-key-" + "1" * 30)
    hash_key.ensure(runner(con), "raw", "blob", "?", production=False)
    assert (
        hash_key.ensure(runner(con), "raw", "blob", "?", production=False) == ""
    )  # same key: nothing to do
    monkeypatch.setenv(hash_key.ENV_VAR, "second-key-" + "2" * 30)
    notice = hash_key.ensure(runner(con), "raw", "blob", "?", production=False)
    assert "--full-refresh --select dim_customer+" in notice
    [(key_id,)] = con.execute(f"select key_id from raw.{hash_key.TABLE}").fetchall()
    assert key_id == hash_key.key_id(("second-key-" + "2" * 30).encode())
    monkeypatch.setenv(hash_key.ENV_VAR, "short")
    with pytest.raises(LoaderError, match="at least 32 characters"):
        hash_key.ensure(runner(con), "raw", "blob", "?", production=False)
