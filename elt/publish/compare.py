"""`elt diff`: two kept published versions compared with the audit's diff, mart by mart."""

from __future__ import annotations

from typing import Any

from elt.errors import LoaderError
from elt.publish.audit import marts_of
from elt.publish.diff import Diff, diff
from elt.publish.spec import Gates, MartSpec, mart_spec
from elt.publish.versions import Store


def versions_diff(
    store: Store, manifest: dict[str, Any], old: int, new: int
) -> tuple[Diff, list[str]]:
    """Version ``new`` against version ``old``: rows added, removed and changed by each mart's
    key (declared in the manifest; a mart the manifest no longer has is counted only), the
    columns that changed, the declared totals per business day; and the marts ``old`` had
    that ``new`` has not."""
    kept = {v.number for v in store.versions()}
    missing = [f"v{n:06d}" for n in (old, new) if n not in kept]
    if missing:
        known = ", ".join(f"v{n:06d}" for n in sorted(kept)) or "none"
        raise LoaderError(f"no kept version {', '.join(missing)} (kept: {known})")
    specs = {m.name: mart_spec(manifest, m.unique_id) for m in marts_of(manifest)}
    with store.version_pair(old, new) as pair:
        names = sorted(set(pair.old) | set(pair.new))
        chosen = [specs.get(n) or MartSpec(n, (), None, (), (), Gates()) for n in names]
        present = [s for s in chosen if s.name in pair.new]
        result = diff(pair.warehouse, present, pair.new.__getitem__, pair.old.get, old)
    return result, [n for n in names if n not in pair.new]
