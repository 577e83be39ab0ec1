"""Benchmark column lineage: the whole project, and generated projects of growing size.

Usage: python -m bench.lineage [--sizes 100,300,1000] [--columns 20]

1. **This project**: `dbt compile` on an empty DuckDB file (the manifest with every model's
   compiled SQL), then `elt.lineage.project.compute` timed apart (goal < 5 s), with the
   numbers of models, columns and edges.
2. **Generated projects** of `--sizes` models (a manifest written here, no dbt): 10 sources of
   `--columns` columns; each model reads one to three earlier ones through import CTEs, joins
   them, renames, computes, aggregates every fifth model, and ends in `select * from final`,
   as this project's models do. The time per size shows how it grows.

Asserts nothing (timings belong to benchmarks, not tests).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from elt.lineage.project import compute

REPO = Path(__file__).resolve().parents[1]


def project_manifest(work: Path) -> dict[str, Any]:
    env = {
        **os.environ,
        "DBT_TARGET_PATH": str(work / "target"),
        "DBT_LOG_PATH": str(work / "logs"),
        "ELT_DUCKDB_PATH": str(work / "bench.duckdb"),
        "DBT_PROFILES_DIR": str(REPO),
    }
    dbt = Path(sys.executable).with_name("dbt")
    subprocess.run(
        [str(dbt), "compile", "--quiet", "--target", "duckdb", "--project-dir", str(REPO)],
        env=env,
        check=True,
        cwd=REPO,
    )
    manifest: dict[str, Any] = json.loads((work / "target" / "manifest.json").read_text())
    return manifest


def _model_sql(index: int, parents: list[str], columns: int, rng: random.Random) -> str:
    imports = ",\n".join(f"p{i} as (select * from bench.main.{p})" for i, p in enumerate(parents))
    lines = [f"p0.c{c} as c{c}" for c in range(columns)]
    for i in range(1, len(parents)):
        lines[i] = f"coalesce(p0.c{i}, p{i}.c{i}) as c{i}"
    computed = rng.randrange(1, columns) if columns > 1 else 0
    lines[computed] = f"p0.c0 + p0.c{computed} as c{computed}"
    if columns > 2:  # a rename: the value of another column under this name
        lines[-1] = f"p0.c{columns - 2} as c{columns - 1}"
    joins = "".join(f" left join p{i} on p{i}.c0 = p0.c0" for i in range(1, len(parents)))
    body = f"select {', '.join(lines)} from p0{joins}"
    if index % 5 == 4:
        aggregated = ", ".join(["c0"] + [f"sum(c{c}) as c{c}" for c in range(1, columns)])
        body = f"select {aggregated} from ({body}) as t group by c0"
    return f"with {imports},\nrenamed as ({body}),\nfinal as (select * from renamed)\nselect * from final"


def generated_manifest(models: int, columns: int, seed: int = 7) -> dict[str, Any]:
    rng = random.Random(seed)
    sources = {}
    for s in range(10):
        uid = f"source.bench.raw.s{s}"
        sources[uid] = {
            "unique_id": uid,
            "resource_type": "source",
            "name": f"s{s}",
            "source_name": "raw",
            "identifier": f"s{s}",
            "database": "bench",
            "schema": "main",
            "columns": {f"c{c}": {"name": f"c{c}"} for c in range(columns)},
        }
    nodes: dict[str, Any] = {}
    names = [f"s{s}" for s in range(10)]
    ids = list(sources)
    for m in range(models):
        picks = rng.sample(range(len(names)), k=min(len(names), rng.randint(1, 3)))
        parents = [names[p] for p in picks]
        name = f"m{m:04d}"
        uid = f"model.bench.{name}"
        nodes[uid] = {
            "unique_id": uid,
            "resource_type": "model",
            "name": name,
            "alias": name,
            "database": "bench",
            "schema": "main",
            "fqn": ["bench", "marts" if m >= models - models // 10 else "staging", name],
            "depends_on": {"nodes": [ids[p] for p in picks]},
            "compiled_code": _model_sql(m, parents, columns, rng),
            "columns": {},
        }
        names.append(name)
        ids.append(uid)
    return {"metadata": {"adapter_type": "duckdb"}, "nodes": nodes, "sources": sources}


def timed(manifest: dict[str, Any]) -> tuple[float, int, int]:
    began = time.perf_counter()
    lineage = compute(manifest)
    seconds = time.perf_counter() - began
    columns = sum(len(c) for c in lineage.columns.values())
    edges = sum(len(e) for e in lineage.edges.values())
    return seconds, columns, edges


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100,300,1000")
    parser.add_argument("--columns", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        manifest = project_manifest(Path(folder))
    built = sum(
        1 for n in manifest["nodes"].values() if n["resource_type"] in ("model", "snapshot")
    )
    seconds, columns, edges = timed(manifest)
    print(f"this project: {built} models, {columns} columns, {edges} edges: {seconds:.2f} s")
    for size in (int(s) for s in args.sizes.split(",")):
        seconds, columns, edges = timed(generated_manifest(size, args.columns))
        print(
            f"generated: {size} models x {args.columns} columns ({columns} columns, {edges} "
            f"edges): {seconds:.2f} s ({1000 * seconds / size:.1f} ms per model)"
        )


if __name__ == "__main__":
    main()
