"""The key of the email hash in the marts (HMAC-SHA-256), handed to the warehouse without SQL text.

dbt models cannot read a secret without writing it into compiled SQL and logs. So the loader,
which runs first each day, stores HMAC's two padded keys (RFC 2104: the key XOR ipad and
XOR opad, 64 bytes each) in a bookkeeping table; the macro ``keyed_hash`` computes
``sha256(outer || sha256(inner || message))`` with the database's own sha256, which gives
the standard HMAC-SHA-256 on DuckDB and PostgreSQL alike, and never names the key.

The key comes from ELT_EMAIL_HASH_KEY (at least 32 characters). Without it, production
stops; dev and ci keep the key already stored, or make a random one for this warehouse
(hashes then match no other warehouse). Rotation: set the new key, run ``elt load``, then
rebuild what holds hashes (``dbt build --full-refresh --select dim_customer+``).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Callable
from typing import Any

from elt.errors import LoaderError

TABLE = "_elt_email_hash_key"
ENV_VAR = "ELT_EMAIL_HASH_KEY"
MIN_LENGTH = 32
BLOCK = 64  # sha256's block size


def pads(key: bytes) -> tuple[bytes, bytes]:
    """HMAC's inner and outer padded keys for sha256."""
    if len(key) > BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(BLOCK, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def key_id(key: bytes) -> str:
    """Names a key without revealing it (an HMAC of a constant)."""
    return hmac.new(key, b"elt email hash key id", hashlib.sha256).hexdigest()[:12]


def email_hash(key: bytes, cleaned_email: str) -> str:
    """What the marts hold for an email as staging cleans it (tests compare the SQL with this)."""
    return hmac.new(key, cleaned_email.encode(), hashlib.sha256).hexdigest()


def configured_key() -> bytes | None:
    value = os.environ.get(ENV_VAR, "")
    if not value:
        return None
    if len(value) < MIN_LENGTH:
        raise LoaderError(f"{ENV_VAR} must be at least {MIN_LENGTH} characters, got {len(value)}")
    return value.encode()


Run = Callable[[str, list[Any]], list[tuple[Any, ...]]]
# the table's columns: name, type ("blob" is the database's binary type), description (the
# dbt source documents them; a test keeps the two alike)
COLUMNS = (
    ("key_id", "varchar", "Names the key without revealing it; changes when the key is rotated."),
    ("inner_pad", "blob", "The key XOR 0x36 (64 bytes)."),
    ("outer_pad", "blob", "The key XOR 0x5c (64 bytes)."),
    ("set_at", "timestamp with time zone", "When this key was stored."),
)


def ensure(run: Run, meta: str, blob_type: str, mark: str, production: bool) -> str:
    """Store the configured key's pads (or keep or make one); a message when it changed.

    ``run`` executes one statement with ``mark`` placeholders and returns its rows."""
    columns = ", ".join(
        f"{name} {blob_type if kind == 'blob' else kind} not null" for name, kind, _ in COLUMNS
    )
    run(f"create table if not exists {meta}.{TABLE} ({columns})", [])
    stored = run(f"select key_id from {meta}.{TABLE}", [])
    key = configured_key()
    if key is None:
        if stored:
            return ""
        if production:
            raise LoaderError(
                f"{ENV_VAR} is not set: production hashes emails with a key of its own "
                "(docs/postgres.md: Personal data); nothing loaded"
            )
        key = secrets.token_hex(32).encode()
    if stored and stored[0][0] == key_id(key):
        return ""
    inner, outer = pads(key)
    run(f"delete from {meta}.{TABLE}", [])
    run(
        f"insert into {meta}.{TABLE} values ({mark}, {mark}, {mark}, current_timestamp)",
        [key_id(key), inner, outer],
    )
    if stored:
        return (
            "the email hash key changed: rebuild what holds hashes "
            "(dbt build --full-refresh --select dim_customer+)"
        )
    return ""
