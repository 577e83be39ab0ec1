"""Column lineage of one compiled SELECT, with sqlglot: for each output column, the columns of
the tables it reads that make its value (each edge typed), and the columns that only filter,
join, group or sort (indirect, for the whole query).

Edges are typed as the leading tools type them:

- ``passthrough``: the value as it was, under the same name (a cast alone changes no value,
  but for a cast to a date);
- ``rename``: the value as it was, under another name;
- ``transformation``: a function of it (arithmetic, ``case``, ``coalesce``, a hash);
- ``aggregation``: an aggregate of it (``sum``, ``count``, also over a window).

A window's partition and order columns decide its value: they are ``transformation`` inputs
of the column, and also indirect (``WINDOW``) for the query.

A column with no input column is ``constant`` (a literal) or ``generated`` (``row_number()``,
``current_timestamp``). ``select *`` is expanded from the schema given; CTEs, subqueries and
unions are followed to the tables.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from sqlglot import exp, parse_one
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, build_scope
from sqlglot.schema import MappingSchema

from elt.errors import LoaderError

PASSTHROUGH, RENAME, TRANSFORMATION, AGGREGATION = (
    "passthrough",
    "rename",
    "transformation",
    "aggregation",
)
# the strength of each kind: a path's kind is its strongest hop's (a rename of a sum is a sum)
RANK = {PASSTHROUGH: 0, RENAME: 1, TRANSFORMATION: 2, AGGREGATION: 3}
CONSTANT, GENERATED, DERIVED = "constant", "generated", "derived"
# where a column is used without making a value: OpenLineage's INDIRECT subtypes
JOIN, FILTER, GROUP_BY, SORT, WINDOW = "JOIN", "FILTER", "GROUP_BY", "SORT", "WINDOW"

# a table as sqlglot's schema knows it: (catalog, db, name), lower case, '' where absent
Table = tuple[str, str, str]
# {table: {column: type}}
Schema = Mapping[Table, Mapping[str, str]]


@dataclasses.dataclass(frozen=True, order=True)
class Input:
    table: Table
    column: str
    kind: str  # an edge kind, or an indirect subtype


@dataclasses.dataclass
class QueryLineage:
    columns: dict[str, set[Input]]  # output column -> its direct inputs (ordered as selected)
    origins: dict[str, str]  # output column -> derived | constant | generated
    indirect: set[Input]  # columns that only filter, join, group or sort (whole query)
    # output column -> a digest of the expressions that make it (comments, schemas, filters
    # and joins left out): two builds with the same digest compute its value the same way
    signatures: dict[str, str] = dataclasses.field(default_factory=dict)


def table_of(node: exp.Table) -> Table:
    return (node.catalog.lower(), node.db.lower(), node.name.lower())


def _identity(expression: exp.Expr) -> exp.Column | None:
    """The column an expression only passes on (through casts and parentheses), or None. A
    cast to a date is not one: it drops the time of a timestamp."""
    while isinstance(expression, exp.Cast | exp.TryCast | exp.Paren | exp.Alias):
        if isinstance(expression, exp.Cast) and expression.to.is_type(exp.DataType.Type.DATE):
            return None
        expression = expression.this
    return expression if isinstance(expression, exp.Column) else None


def _in_window_spec(column: exp.Column, top: exp.Expr) -> bool:
    node: exp.Expr | None = column
    while node is not None and node is not top:
        parent = node.parent
        if isinstance(parent, exp.Window) and node is not parent.this:
            return True
        node = parent
    return False


# window functions that fetch another row's value: a transformation, not an aggregate
_NAVIGATION = tuple(
    getattr(exp, name)
    for name in ("Lead", "Lag", "FirstValue", "LastValue", "NthValue")
    if hasattr(exp, name)
)


def _under_aggregate(column: exp.Column, top: exp.Expr) -> bool:
    node = column.parent
    while node is not None:
        if isinstance(node, exp.AggFunc) and not isinstance(node, _NAVIGATION):
            return True
        if node is top:
            return False
        node = node.parent
    return False


def _own_columns(expression: exp.Expr) -> Iterable[exp.Column]:
    """The columns of this scope's expression, not those of a subquery inside it."""
    for column in expression.find_all(exp.Column):
        if column.find_ancestor(exp.Subquery, exp.Select) in (None, expression.parent_select):
            yield column


# what makes a value of its own, from no input column: a row number, a count of rows, the clock,
# a random draw, rows made from a list (Spark's explode of a sequence: a date spine)
_GENERATING = tuple(
    getattr(exp, name)
    for name in (
        "Window",
        "AggFunc",
        "CurrentTimestamp",
        "CurrentDate",
        "CurrentTime",
        "CurrentDatetime",
        "Rand",
        "Uuid",
        "RowNumber",
        "Explode",
        "ExplodeOuter",
        "Posexplode",
        "PosexplodeOuter",
        "Unnest",
        "GenerateSeries",
        "GenerateDateArray",
        "Inline",
    )
    if hasattr(exp, name)
)
_GENERATING_NAMES = {"now", "random", "uuid", "gen_random_uuid", "nextval", "uuid_generate_v4"}


def _generates(value: exp.Expr) -> bool:
    for node in value.walk():
        if isinstance(node, _GENERATING):
            return True
        if isinstance(node, exp.Anonymous) and str(node.name).lower() in _GENERATING_NAMES:
            return True
    return False


def _unnamed(value: exp.Expr, scope: Scope) -> exp.Expr:
    """The expression with the names it gives and takes from inner queries left out (a column
    renamed on the way computes the same value); the tables' column names stay."""
    shown = value.copy()
    for column in shown.find_all(exp.Column):
        if isinstance(scope.sources.get(column.table), Scope):
            column.set("this", exp.to_identifier("_"))
    return shown


def _selects(scope: Scope) -> list[exp.Expr]:
    query = scope.expression
    return list(query.selects) if isinstance(query, exp.Query) else []


class _Tracer:
    def __init__(self, dialect: str) -> None:
        self.dialect = dialect
        self.indirect: set[Input] = set()
        self._seen_scopes: set[int] = set()
        # the SQL of the projections a column's value passes through, collected while one
        # output column is traced. Filters and joins are left out: an incremental model's
        # run adds filters (with the night's watermark) its first build has not; which rows
        # a change adds or removes is the data diff's to say
        self.trail: set[str] = set()

    def _sql(self, expression: exp.Expr | None) -> str:
        return "" if expression is None else expression.sql(dialect=self.dialect, comments=False)

    def output_names(self, scope: Scope) -> list[str]:
        while scope.set_operation_scopes:
            scope = scope.set_operation_scopes[0]
        return [s.alias_or_name for s in _selects(scope)]

    def column(self, scope: Scope, index: int) -> tuple[set[tuple[Table, str, str]], str]:
        """The tables' columns making output ``index`` of ``scope``: (table, column, kind),
        and whether it is derived, constant or generated."""
        if scope.set_operation_scopes:
            found: set[tuple[Table, str, str]] = set()
            origin = CONSTANT
            for branch in scope.set_operation_scopes:
                inputs, branch_origin = self.column(branch, index)
                found |= inputs
                if branch_origin == DERIVED or (branch_origin == GENERATED and origin == CONSTANT):
                    origin = branch_origin
            return found, origin
        self._indirect_of(scope)
        projection = _selects(scope)[index]
        value = projection.this if isinstance(projection, exp.Alias) else projection
        self.trail.add(self._sql(_unnamed(value, scope)))
        identity = _identity(value)
        found = set()
        inner_origins = set()
        for column in _own_columns(value):
            in_window_spec = _in_window_spec(column, value)
            if in_window_spec:  # a partition or an order: it decides the value, as an input
                for table, name, _ in self._resolve(scope, column)[0]:
                    self.indirect.add(Input(table, name, WINDOW))
            if identity is not None:
                kind = PASSTHROUGH if column.name == projection.alias_or_name else RENAME
            elif _under_aggregate(column, value) and not in_window_spec:
                kind = AGGREGATION
            else:
                kind = TRANSFORMATION
            inputs, origin = self._resolve(scope, column)
            inner_origins.add(origin)
            for table, name, inner in inputs:
                found.add((table, name, _compose(kind, inner, name, projection.alias_or_name)))
        if found:
            return found, DERIVED
        if GENERATED in inner_origins or _generates(value):
            return found, GENERATED
        return found, CONSTANT  # literals, and functions of literals only

    def _resolve(self, scope: Scope, column: exp.Column) -> tuple[set[tuple[Table, str, str]], str]:
        """What a column of this scope reads: (table, column, kind) and its origin."""
        source = scope.sources.get(column.table)
        if isinstance(source, exp.Table):
            if not source.name:  # a table function (a date spine): its rows are made here
                return set(), GENERATED
            return {(table_of(source), column.name.lower(), PASSTHROUGH)}, DERIVED
        if isinstance(source, Scope):
            names = self.output_names(source)
            if column.name in names:
                return self.column(source, names.index(column.name))
        return set(), GENERATED  # a lateral alias, a table function, a name the schema lacks

    def _indirect_of(self, scope: Scope) -> None:
        if id(scope) in self._seen_scopes:
            return
        self._seen_scopes.add(id(scope))
        select = scope.expression
        uses: list[tuple[exp.Expr | None, str]] = [
            (select.args.get("where"), FILTER),
            (select.args.get("having"), FILTER),
            (select.args.get("qualify"), FILTER),
            (select.args.get("group"), GROUP_BY),
            (select.args.get("order"), SORT),
        ]
        uses += [(join.args.get("on"), JOIN) for join in select.args.get("joins") or []]
        uses += [(join.args.get("using"), JOIN) for join in select.args.get("joins") or []]
        for clause, subtype in uses:
            if clause is None:
                continue
            for column in _own_columns(clause) if isinstance(clause, exp.Expr) else []:
                for table, name, _ in self._resolve(scope, column)[0]:
                    self.indirect.add(Input(table, name, subtype))


def _compose(outer: str, inner: str, source_name: str, output_name: str) -> str:
    strongest = max(outer, inner, key=RANK.__getitem__)
    if RANK[strongest] <= RANK[RENAME]:
        return PASSTHROUGH if source_name == output_name.lower() else RENAME
    return strongest


def query_lineage(sql: str, dialect: str, schema: Schema, where: str = "") -> QueryLineage:
    """The lineage of one SELECT (``where`` names it in errors)."""
    nested: dict[str, Any] = {}
    for (catalog, db, name), known in schema.items():
        nested.setdefault(catalog, {}).setdefault(db, {})[name] = dict(known)
    try:
        parsed = parse_one(sql, dialect=dialect)
        qualified = qualify(
            parsed,
            dialect=dialect,
            schema=MappingSchema(nested, dialect=dialect),
            validate_qualify_columns=False,
            identify=False,
        )
    except SqlglotError as exc:
        raise LoaderError(f"{where}: sqlglot cannot read its compiled SQL: {exc}") from None
    root = build_scope(qualified)
    if root is None:
        raise LoaderError(f"{where}: its compiled SQL is not a query")
    tracer = _Tracer(dialect)
    columns: dict[str, set[Input]] = {}
    origins: dict[str, str] = {}
    signatures: dict[str, str] = {}
    for index, name in enumerate(tracer.output_names(root)):
        tracer.trail = set()
        inputs, origin = tracer.column(root, index)
        read = sorted(f"{table[2]}.{column}:{kind}" for table, column, kind in inputs)
        text = "\n".join([*sorted(tracer.trail), *read, origin])
        signatures[name] = hashlib.sha256(text.encode()).hexdigest()[:16]
        strongest: dict[tuple[Table, str], str] = {}
        for table, column, kind in inputs:
            held = strongest.get((table, column))
            if held is None or RANK[kind] > RANK[held]:
                strongest[(table, column)] = kind
        columns[name] = {Input(t, c, k) for (t, c), k in strongest.items()}
        origins[name] = origin
    return QueryLineage(columns, origins, tracer.indirect, signatures)
