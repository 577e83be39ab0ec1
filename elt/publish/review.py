"""The audit of one candidate: dbt's results, the diff against what analysts read, the gates,
and what each failed plausibility test found, as the reasons an operator reads."""

from __future__ import annotations

import dataclasses
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from elt.alert import node_name
from elt.errors import LoaderError
from elt.publish.audit import Audit
from elt.publish.diff import Diff, Warehouse, diff
from elt.publish.gates import BLOCK, Finding, LoadedFile, bands, evaluate
from elt.publish.spec import mart_spec, source_specs
from elt.publish.versions import Sides, Store, Version

RUNBOOK = "docs/operations.md#a-blocked-publication"
EXAMPLES = 3  # failing rows shown per plausibility test


@dataclasses.dataclass
class Review:
    audit: Audit
    against: Version | None
    diff: Diff | None
    findings: list[Finding]
    test_failures: list[str]  # one line per failed test: what broke which rule, with values
    notes: list[str]  # what the audit could not do (e.g. the diff of a failed build)
    charts: list[dict[str, Any]] = dataclasses.field(default_factory=list)  # gates.bands

    @property
    def blocks(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == BLOCK]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity != BLOCK]

    def reasons(self, accepted: frozenset[str] = frozenset()) -> list[str]:
        """Why the candidate may not be published: dbt's problems (failed tests explained) and
        every block not accepted."""
        problems = [
            p for p in self.audit.problems if not (self.test_failures and "node(s) failed" in p)
        ]
        blocks = [f"{f.check}: {f.message}" for f in self.blocks if f.check not in accepted]
        return self.test_failures + blocks + problems

    def summary(self) -> str:
        return self.diff.summary() if self.diff else "no diff (" + "; ".join(self.notes) + ")"

    def as_json(self) -> dict[str, Any]:
        return {
            "against": self.against.number if self.against else None,
            "summary": self.summary(),
            "diff": self.diff.as_json() if self.diff else None,
            "findings": [f.as_json() for f in self.findings],
            "test_failures": self.test_failures,
            "notes": self.notes,
        }

    def charts_json(self) -> list[dict[str, Any]]:
        """The bands of the metrics a finding names, else of each mart's first total."""
        named = {(f.subject, f.metric) for f in self.findings}
        chosen = [c for c in self.charts if (c["mart"], c["metric"]) in named]
        if not chosen:
            seen: set[str] = set()
            for c in self.charts:
                if c["mart"] not in seen:
                    chosen.append(c)
                    seen.add(c["mart"])
        return chosen


def matching(checks: list[str], findings: list[Finding]) -> dict[str, list[str]]:
    """Each ``--accept`` value and the blocking checks it names: a check exactly, or every
    check under it (``anomaly:fct_order_items`` covers each of that mart's metrics)."""
    blocking = sorted({f.check for f in findings if f.severity == BLOCK})

    def covers(given: str, check: str) -> bool:
        return (
            check == given
            or check.startswith((given + ".", given + ":"))
            or (given.endswith((":", ".")) and check.startswith(given))
        )

    return {c: [b for b in blocking if covers(c, b)] for c in checks}


def _loaded_files(sides: Sides, against: Version | None) -> list[LoadedFile]:
    """Every loaded file of the loader's manifest; new = after the compared version's last
    load (none new when that is not recorded)."""
    w = sides.warehouse
    last: str | None = None
    if against is not None:
        try:
            rows = w.query(
                f"select last_batch_id from {sides.published_loads} where version = {against.number}"
            )
        except Exception:  # noqa: BLE001 - no table yet: versions of a release before it
            rows = []
        last = str(rows[0][0]) if rows and rows[0][0] is not None else None
    files = w.query(
        "select source_table, file_path, content_hash,"
        " coalesce(rows_loaded, 0) + coalesce(rows_quarantined, 0), batch_id,"
        " coalesce(first_loaded_at < finished_at, false)"
        f" from {sides.loads} where status = 'loaded'"
    )
    return [
        LoadedFile(
            str(t), str(p), str(h), int(n), str(b), last is not None and str(b) > last, bool(r)
        )
        for t, p, h, n, b, r in files
    ]


def _redeliveries(files: list[LoadedFile]) -> list[tuple[str, str, str, int]]:
    """New files whose content was loaded before (or earlier in the same loads) under
    another name."""
    groups: dict[tuple[str, str], list[LoadedFile]] = defaultdict(list)
    for f in files:
        groups[(f.source_table, f.content_hash)].append(f)
    pairs = []
    for group in groups.values():
        group.sort(key=lambda f: (f.batch_id, f.path))
        first = group[0]
        for f in group[1:]:
            if f.is_new and f.path != first.path:
                pairs.append((f.source_table, f.path, first.path, f.rows))
    return pairs


def explain_failed_tests(
    audit: Audit, manifest: dict[str, Any], warehouse: Warehouse | None
) -> list[str]:
    """One line per failed test: the model, column and rule, with the first failing values
    when the test says them (the plausibility tests select value, rule and row_key)."""
    lines = []
    for result in audit.failed_tests:
        uid = str(result["unique_id"])
        node = manifest["nodes"].get(uid, {})
        model = node_name(str(node.get("attached_node") or "")) if node.get("attached_node") else ""
        where = f"{model}.{node['column_name']}" if node.get("column_name") else model
        line = f"test {node.get('name', node_name(uid))} failed ({result.get('status')})"
        line += f" on {where}" if where else ""
        examples = _examples(result, node, warehouse)
        if examples:
            line += ": " + "; ".join(examples)
        elif result.get("message"):
            line += f": {' '.join(str(result['message']).split())}"
        if node.get("description"):
            line += f" - {node['description']}"
        lines.append(line)
    return lines


def _examples(
    result: dict[str, Any], node: dict[str, Any], warehouse: Warehouse | None
) -> list[str]:
    """The first failing values: the plausibility tests select value, rule and row_key; a
    test on a column that returns its rows (expression_is_true) gives the column's values
    and its expression as the rule."""
    code = result.get("compiled_code")
    if not code or warehouse is None or result.get("status") != "fail":
        return []
    failed = f"({code}) as elt_failed"
    column = str(node.get("column_name") or "")
    kwargs = (node.get("test_metadata") or {}).get("kwargs") or {}
    try:
        columns = warehouse.columns(failed)
        if {"value", "rule", "row_key"} <= set(columns):
            rows = warehouse.query(f"select value, rule, row_key from {failed} limit {EXAMPLES}")
            return [f"value {v} (row {k}) breaks '{r}'" for v, r, k in rows]
        if column and column in columns and kwargs.get("expression"):
            rows = warehouse.query(
                f"select {warehouse.quote(column)} from {failed} limit {EXAMPLES}"
            )
            return [f"value {v} breaks '{kwargs['expression']}'" for (v,) in rows]
    except Exception:  # noqa: BLE001 - an explanation is a courtesy: the failure stands
        return []
    return []


def review(store: Store, audit: Audit, manifest_path: Path, against: Version | None) -> Review:
    """Diff the build's marts against ``against`` (what analysts read), run the gates and
    explain the failed tests."""
    manifest = json.loads(manifest_path.read_text())
    specs = [mart_spec(manifest, m.unique_id) for m in audit.marts if m.unique_id]
    notes: list[str] = []
    charts: list[dict[str, Any]] = []
    result: Diff | None = None
    findings: list[Finding] = []
    failures: list[str] = []
    with store.sides(audit, against) as sides:
        failures = explain_failed_tests(audit, manifest, sides.warehouse)
        try:
            result = diff(
                sides.warehouse,
                specs,
                sides.candidate,
                sides.published,
                against.number if against else None,
            )
            files = _loaded_files(sides, against)
            findings = evaluate(result, specs, files, _redeliveries(files), source_specs(manifest))
            by_name = {s.name: s for s in specs}
            charts = [c for m in result.marts for c in bands(m, by_name[m.mart])]
        except Exception as exc:  # noqa: BLE001 - a build that failed may lack marts
            if audit.passed:
                raise LoaderError(
                    f"the audit's diff failed: {' '.join(str(exc).split())[:500]}"
                ) from None
            notes.append(
                f"the diff could not run on this failed build: {' '.join(str(exc).split())[:300]}"
            )
    return Review(audit, against, result, findings, failures, notes, charts)
