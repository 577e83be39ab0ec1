"""`elt report`: collect, render, write atomically (a browser never opens half a page)."""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path
from typing import Any

from elt.environment import Environment
from elt.report.data import collect
from elt.report.page import render
from elt.warehouse.profile import Target


@dataclasses.dataclass(frozen=True)
class Written:
    path: Path
    size_bytes: int
    read_seconds: float
    total_seconds: float


def publication(target: Target, env: Environment) -> dict[str, Any]:
    """The publisher's record: the page's banner (the same document as `elt status --json`)."""
    from elt.publish.run import open_store
    from elt.publish.status import status

    store = open_store(target, env)
    try:
        return status(store).as_json()
    finally:
        store.close()


def write_report(
    target: Target,
    env: Environment,
    output: Path,
    days: int,
    lock_timeout: float,
    project_dir: Path = Path("."),
) -> Written:
    from elt.semantic_layer import measures

    began = time.perf_counter()
    data = collect(target, env, days, lock_timeout, measures(project_dir))
    data.publication = publication(target, env)
    page = render(data)
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    partial.write_text(page, encoding="utf-8")
    os.replace(partial, output)
    return Written(output, output.stat().st_size, data.read_seconds, time.perf_counter() - began)
