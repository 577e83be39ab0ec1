"""Saving and loading the generator's state beside the dataset, so it can be continued."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from elt.generator.config import GeneratorConfig
from elt.generator.messiness import Deferred
from elt.generator.world import WorldState

META_DIR = "_meta"
STATE_FORMAT = 1


@dataclasses.dataclass
class DatasetState:
    config: GeneratorConfig
    last_date: dt.date
    world: WorldState
    deferred: dict[str, Deferred]
    previous: dict[str, pa.Table]  # yesterday's rows per table, for duplicates across days


def state_dir(out_dir: Path) -> Path:
    return out_dir / META_DIR / "state"


def exists(out_dir: Path) -> bool:
    return (state_dir(out_dir) / "dataset.json").is_file()


def _key(name: str) -> str:
    return name.replace("/", "__")


def save(out_dir: Path, st: DatasetState) -> None:
    """Write the state to a fresh folder, then swap it in."""
    final = state_dir(out_dir)
    tmp = final.with_name("state.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    w = st.world
    for label, table in (
        ("customers", w.customers),
        ("products", w.products),
        ("pending_orders", w.pending_orders),
        ("pending_payments", w.pending_payments),
    ):
        pq.write_table(table, tmp / f"{label}.parquet")
    for name, d in st.deferred.items():
        pq.write_table(d.table, tmp / f"deferred__{_key(name)}.parquet")
    for name, table in st.previous.items():
        pq.write_table(table, tmp / f"previous__{_key(name)}.parquet")
    meta = {
        "format": STATE_FORMAT,
        "config": st.config.to_json(),
        "last_date": st.last_date.isoformat(),
        "next_ids": w.next_ids,
        "usd_per_unit": w.usd_per_unit.tolist(),
        "deferred": sorted(st.deferred),
        "previous": sorted(st.previous),
    }
    (tmp / "dataset.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    old = final.with_name("state.old")
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        final.rename(old)
    tmp.rename(final)
    shutil.rmtree(old, ignore_errors=True)


def load(out_dir: Path) -> DatasetState:
    folder = state_dir(out_dir)
    meta = json.loads((folder / "dataset.json").read_text())
    if meta.get("format") != STATE_FORMAT:
        raise ValueError(
            f"{folder}: state format {meta.get('format')} is not supported (expected {STATE_FORMAT})"
        )
    world = WorldState(
        customers=pq.read_table(folder / "customers.parquet"),
        products=pq.read_table(folder / "products.parquet"),
        pending_orders=pq.read_table(folder / "pending_orders.parquet"),
        pending_payments=pq.read_table(folder / "pending_payments.parquet"),
        usd_per_unit=np.array(meta["usd_per_unit"], dtype=float),
        next_ids={k: int(v) for k, v in meta["next_ids"].items()},
    )
    return DatasetState(
        config=GeneratorConfig.from_json(meta["config"]),
        last_date=dt.date.fromisoformat(meta["last_date"]),
        world=world,
        deferred={
            n: Deferred(pq.read_table(folder / f"deferred__{_key(n)}.parquet"))
            for n in meta["deferred"]
        },
        previous={
            n: pq.read_table(folder / f"previous__{_key(n)}.parquet") for n in meta["previous"]
        },
    )


def _meta(out_dir: Path) -> dict[str, object]:
    result: dict[str, object] = json.loads((state_dir(out_dir) / "dataset.json").read_text())
    return result


def load_config(out_dir: Path) -> GeneratorConfig:
    return GeneratorConfig.from_json(_meta(out_dir)["config"])  # type: ignore[arg-type]


def load_last_date(out_dir: Path) -> dt.date:
    return dt.date.fromisoformat(str(_meta(out_dir)["last_date"]))
