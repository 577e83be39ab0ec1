"""A star-schema diagram (elt.erd) drawn as a standalone SVG picture, for the dbt docs site,
which shows pictures but does not draw Mermaid.

Drawn by hand, in a fixed layout that suits a star: the facts in a middle column, the
dimensions on both sides, each table a box of its keys (PK, UK, FK) and their types, a line
from each foreign key to the key it joins. Tables that join nothing are laid out in a grid.
No library here draws an ER diagram without a browser or Graphviz installed.
"""

from __future__ import annotations

from html import escape

from elt.erd import Diagram, Table

CHAR, ROW, HEAD, PAD, GAP_X, GAP_Y = 7.2, 18, 24, 8, 110, 26
FONT = "font-family='system-ui, sans-serif'"


class _Box:
    def __init__(self, table: Table) -> None:
        self.table = table
        self.rows = [c for c in table.columns if table.key_tags(c)]
        text = [table.name] + [self._row_text(c) for c in self.rows]
        self.width = max(len(t) for t in text) * CHAR + 2 * PAD
        self.height = HEAD + ROW * len(self.rows) + PAD / 2
        self.x = self.y = 0.0

    def _row_text(self, column: str) -> str:
        data_type = self.table.columns[column].split("(")[0] or "?"
        return f"{','.join(self.table.key_tags(column))} {column} {data_type}"

    def row_y(self, column: str) -> float:
        index = self.rows.index(column) if column in self.rows else -1
        return self.y + HEAD + ROW * (index + 0.5) if index >= 0 else self.y + HEAD / 2

    def svg(self) -> str:
        parts = [
            f"<g class='table' data-table='{escape(self.table.name)}'>",
            f"<rect x='{self.x:.0f}' y='{self.y:.0f}' width='{self.width:.0f}' "
            f"height='{self.height:.0f}' rx='4' fill='#ffffff' stroke='#486581'/>",
            f"<rect x='{self.x:.0f}' y='{self.y:.0f}' width='{self.width:.0f}' height='{HEAD}' "
            f"rx='4' fill='{'#f0b429' if self.table.name.startswith('fct_') else '#9fb3c8'}'/>",
            f"<text x='{self.x + PAD:.0f}' y='{self.y + 16:.0f}' {FONT} font-size='12' font-weight='bold'>"
            f"{escape(self.table.name)}</text>",
        ]
        for column in self.rows:
            parts.append(
                f"<text x='{self.x + PAD:.0f}' y='{self.row_y(column) + 4:.0f}' {FONT} font-size='12'>"
                f"{escape(self._row_text(column))}</text>"
            )
        return "".join(parts) + "</g>"


def _stack(boxes: list[_Box], x: float, top: float) -> float:
    y = top
    for box in boxes:
        box.x, box.y = x, y
        y += box.height + GAP_Y
    return y


def render(diagram: Diagram) -> str:
    boxes = {name: _Box(t) for name, t in diagram.tables.items()}
    if diagram.joins:
        facts = [b for n, b in boxes.items() if n.startswith(("fct_", "rpt_"))]
        others = [b for b in boxes.values() if b not in facts]
        left, right = others[::2], others[1::2]
        x_left = PAD
        x_mid = x_left + max((b.width for b in left), default=0) + GAP_X
        x_right = x_mid + max((b.width for b in facts), default=0) + GAP_X
        bottom = max(_stack(left, x_left, 40), _stack(facts, x_mid, 40), _stack(right, x_right, 40))
        width = x_right + max((b.width for b in right), default=0) + PAD
    else:
        per_row = 3
        width, y = 0.0, 40.0
        names = list(boxes)
        for start in range(0, len(names), per_row):
            x: float = PAD
            row = [boxes[n] for n in names[start : start + per_row]]
            for box in row:
                box.x, box.y = x, y
                x += box.width + GAP_Y
            width = max(width, x)
            y += max(b.height for b in row) + GAP_Y
        bottom = y
    lines = []
    for join in diagram.joins:
        fact, dim = boxes[join.fact], boxes[join.dimension]
        start_x = fact.x if dim.x < fact.x else fact.x + fact.width
        end_x = dim.x + dim.width if dim.x < fact.x else dim.x
        if dim.x == fact.x:  # same column: leave by the right, come back in
            start_x, end_x = fact.x + fact.width, dim.x + dim.width
        y1, y2 = fact.row_y(join.column), dim.row_y(join.key)
        middle = (start_x + end_x) / 2 if dim.x != fact.x else start_x + GAP_X / 2
        lines.append(
            f"<path class='join' data-join='{escape(join.fact)}.{escape(join.column)}' "
            f"d='M{start_x:.0f},{y1:.0f} C{middle:.0f},{y1:.0f} {middle:.0f},{y2:.0f} "
            f"{end_x:.0f},{y2:.0f}' fill='none' stroke='#829ab1'/>"
        )
    title = f"<text x='{PAD}' y='22' {FONT} font-size='15' font-weight='bold'>{escape(diagram.title)}</text>"
    body = title + "".join(lines) + "".join(b.svg() for b in boxes.values())
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width:.0f}' height='{bottom + PAD:.0f}' "
        f"viewBox='0 0 {width:.0f} {bottom + PAD:.0f}' role='img'>"
        f"<title>{escape(diagram.title)}</title>{body}</svg>\n"
    )
