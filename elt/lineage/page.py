"""The docs site's column-lineage page: one static HTML file beside dbt's index.html, its data
embedded, no request but itself (it opens from disk or from `dbt docs serve`).

From any mart column, its path to the raw tables (every hop typed); from any raw, staging or
intermediate column, every mart column it reaches. ``lineage.html#fct_orders`` opens a model,
``lineage.html#fct_orders.net_revenue_usd`` a column: the dbt docs overview and each mart's
description link there.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from elt.lineage.project import ColumnRef, ProjectLineage

PAGE = "lineage.html"
DOCUMENT = "column_lineage.json"
LAYERS = ("marts", "intermediate", "staging", "snapshots", "seeds", "sources")


def page_data(lineage: ProjectLineage) -> dict[str, Any]:
    """Every node by its name: layer, type, relation, description and columns (each with its
    origin, description and typed inputs), and the columns only filtering or joining it."""
    name = {uid: node.name for uid, node in lineage.nodes.items()}
    nodes = {}
    for uid, node in lineage.nodes.items():
        columns = []
        for column in lineage.columns.get(uid, []):
            ref = ColumnRef(uid, column)
            columns.append(
                {
                    "name": column,
                    "origin": lineage.origins.get(ref, "unknown"),
                    "description": node.column_descriptions.get(column, ""),
                    "inputs": [
                        [name[e.source.node], e.source.column, e.kind]
                        for e in lineage.edges.get(ref, [])
                    ],
                }
            )
        nodes[node.name] = {
            "layer": node.layer,
            "type": node.resource_type,
            "relation": ".".join(p for p in node.relation if p),
            "description": node.description,
            "columns": columns,
            "indirect": [
                [name[e.source.node], e.source.column, e.kind]
                for e in lineage.indirect.get(uid, [])
            ],
        }
    return {"dialect": lineage.dialect, "layers": list(LAYERS), "nodes": nodes}


def render(lineage: ProjectLineage, title: str = "Column lineage") -> str:
    data = json.dumps(page_data(lineage), sort_keys=True).replace("</", "<\\/")
    return TEMPLATE.replace("__TITLE__", html.escape(title)).replace("__DATA__", data)


def write(lineage: ProjectLineage, folder: Path) -> Path:
    path = folder / PAGE
    path.write_text(render(lineage), encoding="utf-8")
    return path


TEMPLATE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>__TITLE__</title>
<style>
  body { margin: 0; font: 14px/1.45 system-ui, sans-serif; color: #1f2933; display: flex;
         height: 100vh; }
  nav { width: 300px; overflow-y: auto; border-right: 1px solid #d9e2ec; padding: 12px;
        background: #f5f7fa; flex: none; }
  main { flex: 1; overflow-y: auto; padding: 16px 24px; }
  h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 20px 0 6px; }
  h3 { font-size: 12px; text-transform: uppercase; color: #627d98; margin: 14px 0 4px; }
  input { width: 100%; box-sizing: border-box; padding: 6px; margin-bottom: 8px; }
  a { color: #0b69a3; text-decoration: none; cursor: pointer; } a:hover { text-decoration: underline; }
  nav a { display: block; padding: 1px 4px; } nav a.on { background: #d9e2ec; }
  table { border-collapse: collapse; width: 100%; }
  td, th { text-align: left; padding: 3px 8px; border-bottom: 1px solid #e4e7eb; vertical-align: top; }
  tr.on td { background: #fff3c4; }
  .kind { font-size: 11px; padding: 0 6px; border-radius: 8px; background: #e4e7eb; margin-left: 6px; }
  .k-passthrough { background: #c6f7e2; } .k-rename { background: #bae3ff; }
  .k-transformation { background: #fce588; } .k-aggregation { background: #ffd3ba; }
  .k-raw, .k-constant, .k-generated { background: #e0e8f9; }
  ul.tree { list-style: none; padding-left: 18px; margin: 2px 0; }
  .muted { color: #627d98; } code { background: #f0f4f8; padding: 0 3px; }
</style>
</head>
<body>
<nav>
  <input id="filter" type="search" placeholder="Filter models and sources" aria-label="Filter">
  <div id="list"></div>
</nav>
<main id="main"><h1>Column lineage</h1>
  <p class="muted">Pick a model on the left, then a column: where it comes from, back to the raw
  tables, and every mart column it reaches.</p></main>
<script id="lineage-data" type="application/json">__DATA__</script>
<script>
"use strict";
const DATA = JSON.parse(document.getElementById("lineage-data").textContent);
const NODES = DATA.nodes;
const USERS = {};  // "node.column" -> [[node, column, kind], ...] made from it
for (const [node, n] of Object.entries(NODES)) {
  for (const c of n.columns) {
    for (const [src, col, kind] of c.inputs) {
      (USERS[src + "." + col] = USERS[src + "." + col] || []).push([node, c.name, kind]);
    }
  }
}
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "onclick") e.addEventListener("click", v); else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}
function kind(k) { return el("span", {class: "kind k-" + k}, k); }
function link(node, column) {
  const target = column ? node + "." + column : node;
  return el("a", {href: "#" + target, "data-target": target}, target);
}
function column(node, name) { return (NODES[node] ? NODES[node].columns : []).find(c => c.name === name); }
function upstream(node, name, seen) {
  const c = column(node, name);
  const ul = el("ul", {class: "tree"});
  if (!c) return ul;
  for (const [src, col, k] of c.inputs) {
    const key = src + "." + col;
    const li = el("li", {}, "\\u2190 ", link(src, col), kind(k));
    const srcColumn = column(src, col);
    if (srcColumn && srcColumn.origin === "raw") li.append(kind("raw"));
    if (!seen.has(key)) { seen.add(key); li.append(upstream(src, col, seen)); }
    ul.append(li);
  }
  return ul;
}
function martsReached(node, name) {
  const reached = new Set(), todo = [node + "." + name];
  while (todo.length) {
    for (const [n, c] of USERS[todo.pop()] || []) {
      const key = n + "." + c;
      if (!reached.has(key)) { reached.add(key); todo.push(key); }
    }
  }
  return [...reached].filter(k => NODES[k.slice(0, k.lastIndexOf("."))].layer === "marts").sort();
}
function rawOf(node, name) {
  const found = new Set(), todo = [[node, name]], seen = new Set();
  while (todo.length) {
    const [n, c] = todo.pop(), col = column(n, c);
    if (!col) continue;
    if (col.origin === "raw") found.add(n + "." + c);
    for (const [src, sc] of col.inputs) {
      const key = src + "." + sc;
      if (!seen.has(key)) { seen.add(key); todo.push([src, sc]); }
    }
  }
  return [...found].sort();
}
function show(target) {
  const main = document.getElementById("main");
  let node = target, name = null;
  if (!NODES[node]) { const i = target.lastIndexOf("."); node = target.slice(0, i); name = target.slice(i + 1); }
  const n = NODES[node];
  if (!n) { main.replaceChildren(el("h1", {}, "Column lineage"), el("p", {}, "Nothing named " + target)); return; }
  for (const a of document.querySelectorAll("nav a")) a.classList.toggle("on", a.dataset.target === node);
  const rows = n.columns.map(c => el("tr", {class: c.name === name ? "on" : ""},
    el("td", {}, link(node, c.name)), el("td", {}, kind(c.origin)), el("td", {class: "muted"}, c.description)));
  const parts = [el("h1", {}, node), el("p", {class: "muted"}, n.type + " in " + n.layer + ": " + n.relation),
    el("table", {id: "columns"}, el("tr", {}, el("th", {}, "column"), el("th", {}, "origin"), el("th", {}, "description")), ...rows)];
  if (n.indirect.length) {
    parts.push(el("h3", {}, "Columns that only filter, join, group or partition it"));
    parts.push(el("ul", {class: "tree"}, ...n.indirect.map(([s, c, k]) => el("li", {}, link(s, c), kind(k)))));
  }
  if (name) {
    const c = column(node, name);
    const section = el("section", {id: "column-lineage"}, el("h2", {}, node + "." + name));
    if (c && c.description) section.append(el("p", {class: "muted"}, c.description));
    section.append(el("h3", {}, "Path to raw"));
    section.append(c && c.inputs.length ? upstream(node, name, new Set()) : el("p", {}, c ? "No input column: " + c.origin : "unknown column"));
    const raw = rawOf(node, name);
    section.append(el("h3", {}, "Raw columns"), el("p", {id: "raw-columns"}, ...(raw.length ? raw.flatMap((r, i) => [i ? ", " : "", link(r.slice(0, r.lastIndexOf(".")), r.slice(r.lastIndexOf(".") + 1))]) : ["none"])));
    const marts = martsReached(node, name);
    section.append(el("h3", {}, "Mart columns it reaches (" + marts.length + ")"));
    section.append(el("ul", {class: "tree", id: "marts-reached"}, ...marts.map(m => el("li", {}, link(m.slice(0, m.lastIndexOf(".")), m.slice(m.lastIndexOf(".") + 1))))));
    parts.splice(2, 0, section);
  }
  main.replaceChildren(...parts);
}
function list() {
  const filter = document.getElementById("filter").value.toLowerCase();
  const box = document.getElementById("list");
  box.replaceChildren();
  for (const layer of DATA.layers) {
    const names = Object.keys(NODES).filter(k => NODES[k].layer === layer && k.toLowerCase().includes(filter)).sort();
    if (!names.length) continue;
    box.append(el("h3", {}, layer), ...names.map(k => link(k)));
  }
}
document.getElementById("filter").addEventListener("input", list);
window.addEventListener("hashchange", () => show(decodeURIComponent(location.hash.slice(1))));
list();
if (location.hash.length > 1) show(decodeURIComponent(location.hash.slice(1)));
</script>
</body>
</html>
"""
