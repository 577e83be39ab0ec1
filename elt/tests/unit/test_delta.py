"""The published marts as Delta tables (elt.publish.delta): a Delta version per publication
and rollback, found by the published version, vacuumed down to the kept versions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable

from elt.environment import current
from elt.publish import delta
from elt.publish.versions import Version

ENV = current({"ELT_ENV": "dev", "ELT_DEV_USER": "ana"})


def _version(number: int) -> Version:
    return Version(number, "2026-12-07T02:00:00+00:00", "", "abc", f"run-{number}", "dev", {}, {})


def _marts(number: int) -> list[tuple[str, pa.Table]]:
    when = dt.datetime(2025, 3, number, 10, tzinfo=dt.UTC)
    return [
        (
            "fct_orders",
            pa.table(
                {
                    "order_id": pa.array(range(number), pa.int64()),
                    "amount": pa.array([Decimal("12.50")] * number, pa.decimal128(18, 2)),
                    # Spark's INT96 timestamps read as nanoseconds: stored as microseconds
                    "ordered_at": pa.array([when] * number, pa.timestamp("ns", tz="UTC")),
                }
            ),
        )
    ]


def test_each_publication_is_a_delta_version_and_pruned_ones_are_vacuumed(tmp_path: Path) -> None:
    for number in (1, 2, 3):
        written = delta.write(tmp_path, ENV, _version(number), _marts(number), "publish")
        assert written == {"fct_orders": number - 1}
    # a rollback to v2 is a new Delta version holding v2's rows: the latest is what analysts read
    delta.write(tmp_path, ENV, _version(2), _marts(2), "rollback")
    path = tmp_path / ENV.published_schema / "fct_orders"
    table = DeltaTable(path)
    assert table.to_pyarrow_table().num_rows == 2
    assert table.history()[0]["elt.operation"] == "rollback"
    mapping = delta.delta_versions(tmp_path, ENV)
    assert mapping == {"1": {"fct_orders": 0}, "2": {"fct_orders": 3}, "3": {"fct_orders": 2}}
    # time travel by the published version
    assert DeltaTable(path, version=mapping["3"]["fct_orders"]).to_pyarrow_table().num_rows == 3
    first = DeltaTable(path, version=0).to_pyarrow_table()
    assert first.schema.field("ordered_at").type == pa.timestamp("us", tz="UTC")
    # v1 pruned: its files go, the kept versions' stay
    delta.vacuum(tmp_path, ENV, [_version(2), _version(3)])
    assert set(delta.delta_versions(tmp_path, ENV)) == {"2", "3"}
    assert DeltaTable(path, version=2).to_pyarrow_table().num_rows == 3
    assert DeltaTable(path, version=3).to_pyarrow_table().num_rows == 2
    with pytest.raises(Exception, match=r"(?i)not found|no such file|does not exist"):
        DeltaTable(path, version=0).to_pyarrow_table()
