"""Vectorised timestamp formatting; internal times are int64 seconds since the epoch (UTC)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

DAY = 86_400
HOUR = 3_600


def day_start(day: dt.date) -> int:
    """Epoch seconds of midnight UTC of ``day``."""
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp())


def iso_utc(seconds: np.ndarray) -> pa.Array:
    """The clean shape: ``2025-01-31T12:34:56Z``; int64 NaT-free input."""
    text = np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s")
    return pc.binary_join_element_wise(pa.array(text), "Z", "")


def iso_variants(seconds: np.ndarray, variant: np.ndarray, offset_minutes: np.ndarray) -> pa.Array:
    """The dirty shapes, all valid ISO-8601 for the same instant.

    variant 0: local time with a ``+HH:MM`` offset; 1: naive ``YYYY-MM-DD HH:MM:SS`` (UTC);
    2: fractional seconds with ``+00:00``.
    """
    if len(seconds) == 0:
        return pa.array([], pa.string())
    local = seconds + offset_minutes.astype(np.int64) * 60
    local_text = np.datetime_as_string(local.astype("datetime64[s]"), unit="s")
    sign = np.where(offset_minutes < 0, "-", "+")
    hh = np.char.zfill((np.abs(offset_minutes) // 60).astype(str), 2)
    mm = np.char.zfill((np.abs(offset_minutes) % 60).astype(str), 2)
    with_offset = np.char.add(np.char.add(np.char.add(np.char.add(local_text, sign), hh), ":"), mm)
    utc_text = np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s")
    naive = np.char.replace(utc_text, "T", " ")
    fractional = np.char.add(utc_text, ".000000+00:00")
    out = np.where(variant == 0, with_offset, np.where(variant == 1, naive, fractional))
    return pa.array(out.astype(str))
