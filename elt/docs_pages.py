"""The project's own pages of the dbt docs site, written beside dbt's index.html after
`dbt docs generate` (`elt docs-pages`, run by `make docs-generate`): the column-lineage page,
the OpenLineage document of the same lineage, and the star-schema pictures the overview
shows (the site does not draw Mermaid)."""

from __future__ import annotations

import json
from pathlib import Path

from elt import erd
from elt.erd_svg import render
from elt.lineage import openlineage, page
from elt.lineage.project import artifacts, compute


def write_pages(target_dir: Path, namespace: str) -> list[Path]:
    """Every page, from the manifest and catalog in ``target_dir``; the paths written."""
    manifest, catalog = artifacts(target_dir)
    lineage = compute(manifest, catalog)
    document = openlineage.document(lineage, namespace)
    for dataset in document:
        openlineage.validate(dataset)
    written = [page.write(lineage, target_dir), target_dir / page.DOCUMENT]
    written[1].write_text(json.dumps(document, indent=1) + "\n")
    for diagram in erd.diagrams(*erd.star(manifest)):
        path = target_dir / diagram.picture
        path.write_text(render(diagram))
        written.append(path)
    return written
