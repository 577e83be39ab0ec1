"""A small DuckDB warehouse built end to end, with dbt's docs artifacts (manifest, catalog, site).

Shared by the conventions test (dbt-bouncer reads the artifacts) and the docs-site test (the site
is served and opened in Chromium).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from functools import cached_property
from pathlib import Path
from typing import Any

from elt.generator.config import GeneratorConfig
from elt.generator.run import generate
from elt.tests.conftest import run_elt
from elt.tests.dbt_runner import dbt, dbt_env


@dataclasses.dataclass
class DocsProject:
    work: Path  # dbt's target/ and logs/ and the DuckDB file live here

    @property
    def target_dir(self) -> Path:
        return self.work / "target"

    @property
    def env(self) -> dict[str, str]:
        return dbt_env(self.work, "duckdb")

    @cached_property
    def manifest(self) -> dict[str, Any]:
        manifest: dict[str, Any] = json.loads((self.target_dir / "manifest.json").read_text())
        return manifest

    def marts(self) -> list[str]:
        """The models under models/marts/, from the manifest."""
        return sorted(
            n["name"]
            for n in self.manifest["nodes"].values()
            if n["resource_type"] == "model" and n["original_file_path"].startswith("models/marts/")
        )


def build_docs_project(work: Path) -> DocsProject:
    data = work / "data"
    generate(data, GeneratorConfig(scale=0.005, seed=3, start=dt.date(2025, 3, 3)), days=4)
    project = DocsProject(work)
    loaded = run_elt(
        "load", "--target", "duckdb", "--data-dir", str(data), "--quiet", env=project.env
    )
    assert loaded.returncode == 0, loaded.stderr
    for args in (("build",), ("docs", "generate")):
        result = dbt(work, "duckdb", *args)
        assert result.returncode == 0, result.stdout[-4000:]
    # what `make docs-generate` runs next: the lineage page and the ERD pictures beside index.html
    pages = run_elt("docs-pages", "--target", "duckdb", env=project.env)
    assert pages.returncode == 0, pages.stderr
    return project
