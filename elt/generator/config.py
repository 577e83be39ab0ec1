"""Options of ``elt generate`` and their validation."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

# Messiness kinds and their default rates: the share of eligible rows affected.
# ``docs`` explains each kind; docs/loading.md and ``elt generate --help`` print this table.
MESS_KINDS: dict[str, tuple[float, str]] = {
    "duplicate_in_file": (0.01, "exact copy of a row elsewhere in the same file"),
    "duplicate_across_days": (0.005, "exact copy of a row of the previous day's file"),
    "late_arriving": (0.02, "order item or payment delivered 1..max-late-days after its day"),
    "out_of_order": (
        0.01,
        "older order version arriving after a newer one; replayed customer version",
    ),
    "dirty_email": (0.05, "email with surrounding blanks and mixed case"),
    "dirty_null": (0.05, "missing value written as '', ' ', 'NULL' or 'N/A'"),
    "dirty_timestamp": (0.05, "timestamp in another ISO-8601 shape, with a UTC offset or none"),
    "orphan": (0.002, "order item of an unknown product; payment of an unknown order"),
    "unparseable_value": (0.001, "number that does not parse (order items, products)"),
    "wrong_column_count": (0.0005, "CSV row with a missing or extra field"),
    "bad_quoting": (0.0005, "CSV row with an unterminated quote; JSON line cut short"),
    "invalid_utf8": (0.0005, "row with bytes that are not valid UTF-8"),
}
STRUCTURAL_KINDS: tuple[str, ...] = ("wrong_column_count", "bad_quoting", "invalid_utf8")

DEFAULT_START = dt.date(2025, 1, 1)
DEFAULT_DAYS = 90
DEFAULT_SEED = 42
DEFAULT_MAX_LATE_DAYS = 3
DEFAULT_DRIFT_AFTER_DAYS = 14
DEFAULT_ROWS_PER_FILE = 500_000
DEFAULT_FX_HISTORY_DAYS = 7


class ConfigError(ValueError):
    """A bad generator option; the message says which and why."""


@dataclasses.dataclass(frozen=True)
class GeneratorConfig:
    """Everything that defines a dataset. Stored with the dataset to continue it."""

    scale: float = 0.01
    seed: int = DEFAULT_SEED
    start: dt.date = DEFAULT_START  # first day of the dataset
    rates: dict[str, float] = dataclasses.field(
        default_factory=lambda: {k: v[0] for k, v in MESS_KINDS.items()}
    )
    max_late_days: int = DEFAULT_MAX_LATE_DAYS
    drift_date: dt.date | None = DEFAULT_START + dt.timedelta(days=DEFAULT_DRIFT_AFTER_DAYS)
    rows_per_file: int = DEFAULT_ROWS_PER_FILE
    # a real FX feed has history before the first order day: the first day's folder also holds
    # the rates of the business days this many calendar days before it (0: none)
    fx_history_days: int = DEFAULT_FX_HISTORY_DAYS

    def validate(self) -> None:
        if not self.scale > 0:
            raise ConfigError(f"--scale must be a positive number, got {self.scale}")
        if self.scale > 1000:
            raise ConfigError(f"--scale {self.scale} is too large (at most 1000)")
        if self.seed < 0:
            raise ConfigError(f"--seed must be zero or positive, got {self.seed}")
        if self.max_late_days < 1:
            raise ConfigError(f"--max-late-days must be at least 1, got {self.max_late_days}")
        if self.fx_history_days < 0:
            raise ConfigError(
                f"--fx-history-days must be zero or positive, got {self.fx_history_days}"
            )
        if self.rows_per_file < 1:
            raise ConfigError(f"--rows-per-file must be at least 1, got {self.rows_per_file}")
        for kind, rate in self.rates.items():
            if kind not in MESS_KINDS:
                raise ConfigError(
                    f"unknown messiness kind {kind!r}; known: {', '.join(MESS_KINDS)}"
                )
            if not 0 <= rate <= 0.5:
                raise ConfigError(f"rate of {kind} must be between 0 and 0.5, got {rate}")

    def to_json(self) -> dict[str, Any]:
        return {
            "scale": self.scale,
            "seed": self.seed,
            "start": self.start.isoformat(),
            "rates": dict(self.rates),
            "max_late_days": self.max_late_days,
            "drift_date": self.drift_date.isoformat() if self.drift_date else None,
            "rows_per_file": self.rows_per_file,
            "fx_history_days": self.fx_history_days,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> GeneratorConfig:
        return cls(
            scale=float(data["scale"]),
            seed=int(data["seed"]),
            start=dt.date.fromisoformat(data["start"]),
            rates={k: float(v) for k, v in data["rates"].items()},
            max_late_days=int(data["max_late_days"]),
            drift_date=dt.date.fromisoformat(data["drift_date"]) if data["drift_date"] else None,
            rows_per_file=int(data["rows_per_file"]),
            fx_history_days=int(data.get("fx_history_days", 0)),  # datasets older than it: none
        )


def parse_rate(text: str) -> tuple[str, float]:
    """Parse ``kind=value`` from ``--rate``."""
    kind, sep, value = text.partition("=")
    kind = kind.strip().replace("-", "_")
    if not sep:
        raise ConfigError(f"--rate expects KIND=VALUE, got {text!r}")
    if kind not in MESS_KINDS:
        raise ConfigError(
            f"unknown messiness kind {kind!r} in --rate; known: {', '.join(MESS_KINDS)}"
        )
    try:
        rate = float(value)
    except ValueError:
        raise ConfigError(f"--rate {kind}: {value!r} is not a number") from None
    return kind, rate


def parse_date(text: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{option} must be a date as YYYY-MM-DD, got {text!r}") from None
