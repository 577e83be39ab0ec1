"""The change-impact report of a CI build: what a code change does to the data analysts read.

Per mart the CI build rebuilt (state:modified+), against production's published version,
with the audit's diff (elt.publish.diff): the schema diff (columns added, removed, renamed,
retyped), rows added, removed and changed by the mart's key, the share of rows each column
still matches, the declared totals per business day before and after, the exposures that
read it, and the mart columns each changed column reaches through column lineage.

Each mart's change is **breaking** (a column analysts or an exposure read is removed,
renamed, retyped or changes values, or rows come or go), **non-breaking** (columns added,
existing values unchanged; or a breaking change nobody reads) or **no data change**.
"""

from __future__ import annotations

import dataclasses
import html
import json
from pathlib import Path
from typing import Any

from elt.impact.changes import (
    Exposure,
    ModelChange,
    edited,
    exposures,
    lineages,
    model_changes,
    reached,
)
from elt.impact.sides import open_sides
from elt.publish.audit import marts_of
from elt.publish.diff import MartDiff, diff_mart
from elt.publish.spec import mart_spec
from elt.warehouse.profile import Target

BREAKING, NON_BREAKING, NO_DATA_CHANGE, NO_CHANGE = (
    "breaking",
    "non-breaking",
    "no data change",
    "no change",
)
SEVERITY = {NO_CHANGE: 0, NO_DATA_CHANGE: 1, NON_BREAKING: 2, BREAKING: 3}
BUILT_STATUSES = ("success", "pass", "warn")


@dataclasses.dataclass
class MartImpact:
    mart: str
    category: str
    reasons: list[str]
    rows_before: int
    rows_after: int
    added: int
    removed: int
    changed: int
    columns_added: list[str]
    columns_removed: list[str]
    renamed: dict[str, str]
    retyped: dict[str, tuple[str, str]]
    match: dict[str, float]  # column -> % of the rows on both sides where it is unchanged
    totals: list[dict[str, Any]]  # per changed business day: metric, before, after, delta
    exposures: list[str]
    reached: dict[str, list[str]]  # its column -> the changed columns it is made from


@dataclasses.dataclass
class Impact:
    models: list[ModelChange]
    marts: list[MartImpact]
    accepted: str | None = None  # why a breaking change was accepted

    @property
    def category(self) -> str:
        if not self.models:
            return NO_CHANGE
        return max(
            (m.category for m in self.marts), key=SEVERITY.__getitem__, default=NO_DATA_CHANGE
        )

    @property
    def breaking(self) -> list[MartImpact]:
        return [m for m in self.marts if m.category == BREAKING]

    def as_json(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "accepted": self.accepted,
            "models": [dataclasses.asdict(m) for m in self.models],
            "marts": [dataclasses.asdict(m) for m in self.marts],
        }


def _built(run_results: dict[str, Any]) -> set[str]:
    return {
        r["unique_id"]
        for r in run_results.get("results", [])
        if r["unique_id"].startswith(("model.", "snapshot.")) and r["status"] in BUILT_STATUSES
    }


def _match(diff: MartDiff) -> dict[str, float]:
    both = diff.published_rows - diff.removed
    return {
        column: round(100.0 * (1 - changed / both), 2) if both else 100.0
        for column, changed in sorted(diff.columns_changed.items())
    }


def _judge(
    diff: MartDiff | None,
    change: ModelChange | None,
    retyped: dict[str, tuple[str, str]],
    analysts: bool,
    using: list[Exposure],
) -> tuple[str, list[str]]:
    """The category of a mart's change and why: breaking when analysts read the mart or an
    exposure reads a column that changed (an exposure that names no columns reads them all)."""
    if diff is None:
        return NON_BREAKING, ["a new mart: nothing published reads it yet"]
    renamed = change.renamed if change else {}
    removed = [c for c in diff.columns_removed if c not in renamed]
    value_columns = [c for c, n in diff.columns_changed.items() if n]
    touched = set(removed) | set(renamed) | set(retyped) | set(value_columns)
    found = []
    if removed:
        found.append(f"columns removed: {', '.join(removed)}")
    if renamed:
        found.append("columns renamed: " + ", ".join(f"{a} -> {b}" for a, b in renamed.items()))
    if retyped:
        found.append(
            "columns retyped: " + ", ".join(f"{c} {a} -> {b}" for c, (a, b) in retyped.items())
        )
    if value_columns:
        found.append(
            f"values change in {diff.changed:,} row{'s' if diff.changed != 1 else ''}: "
            + ", ".join(f"{c} ({diff.columns_changed[c]:,})" for c in value_columns)
        )
    if diff.added or diff.removed:
        found.append(f"rows added {diff.added:,}, removed {diff.removed:,}")
    if found:
        rows_move = bool(diff.added or diff.removed)
        readers = ["analysts"] if analysts else []
        for exposure in using:
            uses = exposure.uses.get(diff.mart)
            if uses is None or rows_move:
                readers.append(f"exposure {exposure.name}")
            elif hit := sorted(touched & set(uses)):
                readers.append(f"exposure {exposure.name} (reads {', '.join(hit)})")
        if readers:
            return BREAKING, [*found, f"read by {'; '.join(readers)}"]
        return NON_BREAKING, [*found, "no analyst or exposure reads what changed"]
    if diff.columns_added:
        return NON_BREAKING, [f"columns added: {', '.join(diff.columns_added)}; values unchanged"]
    return NO_DATA_CHANGE, ["every row and column as published"]


def build(
    target: Target,
    ci_manifest: dict[str, Any],
    prod_manifest: dict[str, Any],
    run_results: dict[str, Any],
) -> Impact:
    built = _built(run_results)
    if not built:
        return Impact([], [])
    marts = [m for m in marts_of(ci_manifest) if m.unique_id in built]
    relations = {m.name: (m.database, m.schema, m.name) for m in marts}
    impacts = []
    with open_sides(target, relations) as sides:
        before, after = lineages(ci_manifest, prod_manifest, built, sides.relations())
        changes = model_changes(before, after, built, edited(ci_manifest, prod_manifest))
        reach = reached(after, changes)
        by_name = {c.name: c for c in changes}
        readers_of = exposures(ci_manifest)
        for mart in marts:
            spec = mart_spec(ci_manifest, mart.unique_id)
            published = sides.published(mart.name)
            diff = diff_mart(sides.warehouse, spec, sides.candidate(mart.name), published)
            types_before = sides.types("published", mart.name) if published else {}
            types_after = sides.types("candidate", mart.name)
            retyped = {
                c: (types_before[c], t)
                for c, t in types_after.items()
                if c in types_before and types_before[c] != t
            }
            using = [e for e in readers_of if mart.name in e.models]
            change = by_name.get(mart.name)
            category, reasons = _judge(
                diff if published else None, change, retyped, mart.analyst_access, using
            )
            impacts.append(
                MartImpact(
                    mart=mart.name,
                    category=category,
                    reasons=reasons,
                    rows_before=diff.published_rows,
                    rows_after=diff.candidate_rows,
                    added=diff.added if published else 0,
                    removed=diff.removed,
                    changed=diff.changed,
                    columns_added=diff.columns_added if published else [],
                    columns_removed=diff.columns_removed,
                    renamed=change.renamed if change else {},
                    retyped=retyped,
                    match=_match(diff) if published else {},
                    totals=diff.totals_of_changed_days(),
                    exposures=[e.name for e in using],
                    reached=reach.get(mart.name, {}),
                )
            )
    for change in changes:
        if change.status == "removed" and change.name in {m.name for m in marts_of(prod_manifest)}:
            impacts.append(
                MartImpact(
                    change.name,
                    BREAKING,
                    ["the mart is removed"],
                    0,
                    0,
                    0,
                    0,
                    0,
                    [],
                    change.columns_removed,
                    {},
                    {},
                    {},
                    [],
                    [],
                    {},
                )
            )
    return Impact(changes, sorted(impacts, key=lambda m: (-SEVERITY[m.category], m.mart)))


# --- rendering -------------------------------------------------------------------------------


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def headline(impact: Impact) -> str:
    if not impact.models:
        return "No model changed: the CI build rebuilt nothing, nothing to compare."
    counts = {c: sum(1 for m in impact.marts if m.category == c) for c in SEVERITY}
    parts = [f"{counts[c]} {c}" for c in (BREAKING, NON_BREAKING, NO_DATA_CHANGE) if counts[c]]
    return (
        f"Change impact: {impact.category.upper()} ({len(impact.models)} models rebuilt; "
        f"marts: {', '.join(parts) or 'none rebuilt'})"
    )


def markdown(impact: Impact) -> str:
    lines = [f"## {headline(impact)}", ""]
    if not impact.models:
        return "\n".join(lines)
    if impact.accepted and impact.breaking:
        lines += [f"Breaking change accepted: {impact.accepted}", ""]
    lines += [
        "Compared with production's published marts (what analysts read), by each mart's key.",
        "",
        "### Models changed",
        "",
        "| model | change | columns changed | added | removed | renamed |",
        "|---|---|---|---|---|---|",
    ]
    for model in impact.models:
        renamed = ", ".join(f"{a} -> {b}" for a, b in model.renamed.items())
        lines.append(
            f"| {model.name} | {model.status} | {', '.join(model.columns_changed) or '-'} | "
            f"{', '.join(model.columns_added) or '-'} | "
            f"{', '.join(model.columns_removed) or '-'} | {renamed or '-'} |"
        )
    lines += [
        "",
        "### Marts",
        "",
        "| mart | impact | rows before | rows after | added | removed | changed |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for m in impact.marts:
        lines.append(
            f"| {m.mart} | **{m.category}** | {m.rows_before:,} | {m.rows_after:,} | "
            f"{m.added:,} | {m.removed:,} | {m.changed:,} |"
        )
    for m in impact.marts:
        lines += ["", f"#### {m.mart}: {m.category}", ""]
        lines += [f"- {r}" for r in m.reasons]
        if m.exposures:
            lines.append(f"- exposures: {', '.join(m.exposures)}")
        moved = {c: p for c, p in m.match.items() if p < 100}
        if moved:
            lines.append(
                "- rows matching, per column: "
                + ", ".join(f"{c} {p:.2f}%" for c, p in moved.items())
            )
        reached_from = {
            c: [s for s in sources if s != f"{m.mart}.{c}"] for c, sources in m.reached.items()
        }
        if any(reached_from.values()):
            lines.append(
                "- reached through column lineage: "
                + "; ".join(f"{c} <- {', '.join(s)}" for c, s in reached_from.items() if s)
            )
        if m.totals:
            lines += ["", "| day | total | before | after | delta |", "|---|---|---:|---:|---:|"]
            lines += [
                f"| {t['day']} | {t['metric']} | {_num(t['published'])} | {_num(t['candidate'])} "
                f"| {_num(t['delta'])} |"
                for t in m.totals
            ]
    return "\n".join(lines) + "\n"


def page(impact: Impact) -> str:
    """The same report as one static HTML page (no script, no request)."""
    body = [f"<h1>{html.escape(headline(impact))}</h1>"]
    for block in markdown(impact).split("\n\n")[1:]:
        rows = [r for r in block.splitlines() if r.strip()]
        if not rows:
            continue
        if rows[0].startswith("|"):
            cells = [
                [html.escape(c.strip()).replace("**", "") for c in r.strip("|").split("|")]
                for r in rows
            ]
            head, data = cells[0], cells[2:]
            body.append(
                "<table><tr>"
                + "".join(f"<th>{c}</th>" for c in head)
                + "</tr>"
                + "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in data)
                + "</table>"
            )
        elif rows[0].startswith("#"):
            level = min(len(rows[0]) - len(rows[0].lstrip("#")), 4)
            text = html.escape(rows[0].lstrip("# "))
            category = text.rsplit(": ", 1)[-1]
            body.append(f"<h{level} class='{category.replace(' ', '-')}'>{text}</h{level}>")
        elif rows[0].startswith("- "):
            body.append("<ul>" + "".join(f"<li>{html.escape(r[2:])}</li>" for r in rows) + "</ul>")
        else:
            body.append(f"<p>{html.escape(' '.join(rows))}</p>")
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Change impact</title>"
        "<style>body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#1f2933}"
        "table{border-collapse:collapse;margin:8px 0}td,th{border-bottom:1px solid #e4e7eb;"
        "padding:3px 10px;text-align:left}.breaking{color:#ab091e}.non-breaking{color:#8d2b0b}"
        "</style></head><body>" + "".join(body) + "</body></html>\n"
    )


def write(impact: Impact, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / "impact.md", folder / "impact.html", folder / "impact.json"]
    paths[0].write_text(markdown(impact))
    paths[1].write_text(page(impact))
    paths[2].write_text(json.dumps(impact.as_json(), indent=1, default=str) + "\n")
    return paths
