"""``elt generate``: simulate days, inject messiness, write files and the injection record."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np
import pyarrow.parquet as pq

from elt.generator import messiness, state
from elt.generator.config import ConfigError, GeneratorConfig
from elt.generator.messiness import Deferred
from elt.generator.world import fx_history, initial_state, simulate_day
from elt.generator.writer import FORMATS, write_table_day

INJECTED_DIR = "injected"


@dataclasses.dataclass
class TableTotals:
    files: int = 0
    rows: int = 0
    bytes: int = 0
    injected: dict[str, int] = dataclasses.field(default_factory=lambda: defaultdict(int))


@dataclasses.dataclass
class Summary:
    out_dir: Path
    first_day: dt.date
    last_day: dt.date
    continued: bool
    seconds: float
    tables: dict[str, TableTotals]

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables.values())

    @property
    def bytes(self) -> int:
        return sum(t.bytes for t in self.tables.values())


def injected_path(out_dir: Path, day: dt.date) -> Path:
    return out_dir / state.META_DIR / INJECTED_DIR / f"{day.isoformat()}.json"


def _check_writable(out_dir: Path) -> None:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / ".elt-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(
            f"output directory {out_dir} is not writable: {exc.strerror or exc}"
        ) from None


def plan(
    out_dir: Path, cfg: GeneratorConfig, start: dt.date | None, cont: bool
) -> tuple[GeneratorConfig, dt.date, bool]:
    """Decide whether this run starts a dataset or continues one; returns (config, first day, continuing)."""
    if state.exists(out_dir):
        existing = state.load_config(out_dir)
        last = state.load_last_date(out_dir)
        nxt = last + dt.timedelta(days=1)
        if not cont and start != nxt:
            raise ConfigError(
                f"{out_dir} already holds a dataset from {existing.start} to {last}; "
                f"continue it with --continue (or --start {nxt}), or choose an empty directory"
            )
        if start is not None and start != nxt:
            raise ConfigError(
                f"the dataset in {out_dir} ends on {last}; a continuation must start on {nxt}, not {start}"
            )
        if cfg.seed != existing.seed:
            raise ConfigError(
                f"the dataset in {out_dir} was made with --seed {existing.seed}; continuing needs the same seed, not {cfg.seed}"
            )
        # scale and shape stay those of the dataset; rates may change (a bad day on purpose)
        return dataclasses.replace(existing, rates=cfg.rates), nxt, True
    if cont:
        raise ConfigError(
            f"--continue: no dataset to continue in {out_dir} (missing {state.state_dir(out_dir) / 'dataset.json'})"
        )
    return cfg, cfg.start, False


def generate(
    out_dir: Path,
    cfg: GeneratorConfig,
    days: int,
    start: dt.date | None = None,
    cont: bool = False,
    on_day: Callable[[dt.date, int], None] | None = None,
) -> Summary:
    """Generate ``days`` days into ``out_dir`` (a new dataset, or the next days of an existing one)."""
    if days < 1:
        raise ConfigError(f"--days must be at least 1, got {days}")
    cfg.validate()
    _check_writable(out_dir)
    cfg, first, continued = plan(out_dir, cfg, start, cont)
    if continued:
        st = state.load(out_dir)
        st.config = cfg
    else:
        st = state.DatasetState(
            cfg, first - dt.timedelta(days=1), initial_state(cfg.seed, cfg.scale, cfg.start), {}, {}
        )
    began = time.perf_counter()
    totals: dict[str, TableTotals] = defaultdict(TableTotals)
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = true")
    for i in range(days):
        day = first + dt.timedelta(days=i)
        _generate_day(con, out_dir, st, day, totals)
        st.last_date = day
        if on_day:
            on_day(day, i + 1)
    state.save(out_dir, st)
    con.close()
    return Summary(
        out_dir, first, st.last_date, continued, time.perf_counter() - began, dict(totals)
    )


def _generate_day(
    con: duckdb.DuckDBPyConnection,
    out_dir: Path,
    st: state.DatasetState,
    day: dt.date,
    totals: dict[str, TableTotals],
) -> None:
    cfg = st.config
    drifted = cfg.drift_date is not None and day >= cfg.drift_date
    history = fx_history(st.world, day, cfg.fx_history_days) if day == cfg.start else None
    out = simulate_day(st.world, cfg.seed, cfg.scale, day, day == cfg.start, drifted)
    rng = np.random.default_rng([cfg.seed, day.toordinal(), 1])
    record: dict[str, dict[str, object]] = {}
    for name in FORMATS:
        if name not in out.tables:
            continue
        fmt = FORMATS[name]
        batch = (
            messiness.apply(
                name,
                out.tables[name],
                out.next_at if name == "shop/orders" else None,
                st.deferred.setdefault(name, Deferred.empty()),
                st.previous.get(name),
                cfg,
                rng,
                day,
                is_json=fmt == "jsonl",
            )
            if fmt != "parquet"
            else messiness.Batch.of(out.tables[name])
        )
        files, damaged = write_table_day(con, out_dir, name, day, batch, cfg, rng)
        if name in messiness.CROSS_DAY_DUPLICATE_TABLES:
            # yesterday's distinct, intact lines are the pool for tomorrow's cross-day copies
            copies = (
                batch.flags
                & (messiness.BIT["duplicate_in_file"] | messiness.BIT["duplicate_across_days"])
            ) != 0
            st.previous[name] = batch.table.filter(~damaged & ~copies)
        t = totals[name]
        for f in files:
            record[str(f.path.relative_to(out_dir))] = f.record
            t.files += 1
            t.rows += f.rows
            t.bytes += f.bytes
            for kind, count in f.record["counts"].items():
                t.injected[kind] += count
    if history is not None:
        # beside the first day's rates, under a name of its own (the source reads *.parquet)
        name = "finance/fx_rates"
        folder = out_dir / name / day.isoformat()
        folder.mkdir(parents=True, exist_ok=True)
        written = folder / "part-history.parquet"
        pq.write_table(history, written)
        record[str(written.relative_to(out_dir))] = {
            "format": "parquet",
            "rows": history.num_rows,
            "columns": history.column_names,
            "counts": dict.fromkeys(messiness.BIT, 0),
            "malformed_lines": [],
        }
        totals[name].files += 1
        totals[name].rows += history.num_rows
        totals[name].bytes += written.stat().st_size
    path = injected_path(out_dir, day)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {"date": day.isoformat(), "drifted": drifted, "files": record}
    path.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
