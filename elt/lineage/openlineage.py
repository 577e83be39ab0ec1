"""The project's column lineage as OpenLineage ``columnLineage`` dataset facets, built with the
OpenLineage client's own classes (so the document follows the facet's schema, 1-2-0), and
checked back against them.

Edge kinds map onto the facet's transformations: passthrough and rename are DIRECT/IDENTITY
(a rename says so in its description), transformation DIRECT/TRANSFORMATION, aggregation
DIRECT/AGGREGATION; the columns that only filter, join, group, sort or partition are the
facet's dataset-level INDIRECT inputs with that subtype.
"""

from __future__ import annotations

from typing import Any

import attr
from openlineage.client.generated.column_lineage_dataset import (
    ColumnLineageDatasetFacet,
    Fields,
    InputField,
    Transformation,
)
from openlineage.client.serde import Serde

from elt.errors import LoaderError
from elt.lineage.project import ColumnRef, Edge, ProjectLineage
from elt.lineage.sql import AGGREGATION, PASSTHROUGH, RENAME, TRANSFORMATION

PRODUCER = "urn:elt-warehouse:column-lineage"
DIRECT = {
    PASSTHROUGH: ("IDENTITY", None),
    RENAME: ("IDENTITY", "rename"),
    TRANSFORMATION: ("TRANSFORMATION", None),
    AGGREGATION: ("AGGREGATION", None),
}
# the subtypes the facet names (LineageTransformation in the client)
SUBTYPES = {"DIRECT": {"IDENTITY", "TRANSFORMATION", "AGGREGATION"}}
SUBTYPES["INDIRECT"] = {"JOIN", "FILTER", "GROUP_BY", "SORT", "WINDOW", "CONDITIONAL"}


def dataset_name(lineage: ProjectLineage, node: str) -> str:
    return ".".join(part for part in lineage.nodes[node].relation if part)


def _input(lineage: ProjectLineage, namespace: str, edge: Edge, direct: bool) -> InputField:
    if direct:
        subtype, description = DIRECT[edge.kind]
        transformation = Transformation("DIRECT", subtype, description)
    else:
        transformation = Transformation("INDIRECT", edge.kind)
    return InputField(
        namespace, dataset_name(lineage, edge.source.node), edge.source.column, [transformation]
    )


def facet(lineage: ProjectLineage, node: str, namespace: str) -> ColumnLineageDatasetFacet:
    fields = {}
    for column in lineage.columns[node]:
        edges = lineage.edges.get(ColumnRef(node, column), [])
        origin = lineage.origins.get(ColumnRef(node, column))
        fields[column] = Fields(
            [_input(lineage, namespace, e, True) for e in edges],
            transformationDescription=origin if not edges else None,
        )
    indirect = [_input(lineage, namespace, e, False) for e in lineage.indirect.get(node, [])]
    return ColumnLineageDatasetFacet(fields, indirect, producer=PRODUCER)


def document(lineage: ProjectLineage, namespace: str) -> list[dict[str, Any]]:
    """One OpenLineage dataset per model and snapshot, with its columnLineage facet."""
    return [
        {
            "namespace": namespace,
            "name": dataset_name(lineage, uid),
            "facets": {"columnLineage": Serde.to_dict(facet(lineage, uid, namespace))},
        }
        for uid in sorted(lineage.built())
    ]


def _strict(cls: type, value: dict[str, Any], where: str) -> dict[str, Any]:
    """``value``'s keys as ``cls``'s init arguments, or a LoaderError naming what is wrong."""
    known = {a.alias: a for a in attr.fields(cls) if a.init}
    names = {a.name: a.alias for a in attr.fields(cls)}
    arguments = {}
    for key, item in value.items():
        alias = names.get(key, key)
        if key in ("_producer", "_schemaURL"):
            continue
        if alias not in known:
            raise LoaderError(f"{where}: {key!r} is not a field of {cls.__name__}")
        arguments[alias] = item
    missing = [a for a, f in known.items() if f.default is attr.NOTHING and a not in arguments]
    if missing:
        raise LoaderError(f"{where}: {cls.__name__} lacks {', '.join(missing)}")
    return arguments


def _input_field(value: dict[str, Any], where: str) -> InputField:
    arguments = _strict(InputField, value, where)
    transformations = []
    for t in arguments.get("transformations") or []:
        made = Transformation(**_strict(Transformation, t, where))
        if made.type not in SUBTYPES or made.subtype not in SUBTYPES[made.type]:
            raise LoaderError(
                f"{where}: transformation {made.type}/{made.subtype} is not the facet's"
            )
        transformations.append(made)
    arguments["transformations"] = transformations
    return InputField(**arguments)


def validate(dataset: dict[str, Any]) -> ColumnLineageDatasetFacet:
    """The dataset's facet rebuilt with the client's classes: every key one of the facet's,
    every required one present, every transformation a type and subtype the facet names, and
    the schema URL the facet's own."""
    where = f"columnLineage of {dataset.get('name')}"
    value = dataset["facets"]["columnLineage"]
    arguments = _strict(ColumnLineageDatasetFacet, value, where)
    fields = {
        column: Fields(
            [_input_field(i, f"{where}.{column}") for i in f.get("inputFields", [])],
            **{k: v for k, v in _strict(Fields, f, where).items() if k != "inputFields"},
        )
        for column, f in arguments["fields"].items()
    }
    indirect = [_input_field(i, where) for i in arguments.get("dataset") or []]
    rebuilt = ColumnLineageDatasetFacet(fields, indirect, producer=value.get("_producer", ""))
    if value.get("_schemaURL") != rebuilt._schemaURL:
        raise LoaderError(f"{where}: schema URL {value.get('_schemaURL')!r} is not the facet's")
    if Serde.to_dict(rebuilt) != value:
        raise LoaderError(f"{where}: does not survive a round trip through the client's classes")
    return rebuilt
