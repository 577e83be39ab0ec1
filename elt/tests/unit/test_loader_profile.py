"""The loader reads profiles.yml the way dbt does."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from elt.errors import LoaderError
from elt.tests.conftest import REPO
from elt.warehouse.profile import load_target


def dbt_rendered(target: str) -> dict[str, object]:
    from dbt.config.profile import read_profile
    from dbt.config.renderer import ProfileRenderer
    from dbt_common.context import set_invocation_context

    set_invocation_context(dict(os.environ))
    return dict(
        ProfileRenderer({}).render_data(read_profile(str(REPO))["elt_warehouse"])["outputs"][target]
    )


@pytest.mark.parametrize("target", ["duckdb", "postgres"])
@pytest.mark.parametrize(
    "env",
    [
        {},
        {
            "ELT_PG_PORT": "6543",
            "ELT_PG_HOST": "db.internal",
            "ELT_DUCKDB_PATH": "/tmp/x.duckdb",
            "ELT_PG_PASSWORD": "pw",
        },
    ],
)
def test_rendering_matches_dbt(
    monkeypatch: pytest.MonkeyPatch, target: str, env: dict[str, str]
) -> None:
    for key in ("ELT_PG_PORT", "ELT_PG_HOST", "ELT_DUCKDB_PATH", "ELT_PG_PASSWORD", "ELT_TARGET"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert load_target(REPO, REPO, target).settings == dbt_rendered(target)


def test_default_target_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ELT_TARGET", "postgres")
    assert load_target(REPO, REPO, None).name == "postgres"
    monkeypatch.delenv("ELT_TARGET")
    assert load_target(REPO, REPO, None).name == "duckdb"


def test_missing_env_var_without_default_is_named(tmp_path: Path) -> None:
    (tmp_path / "dbt_project.yml").write_text("name: x\nprofile: p\n")
    (tmp_path / "profiles.yml").write_text(
        "p:\n  target: d\n  outputs:\n    d:\n      type: duckdb\n      path: \"{{ env_var('ELT_NOT_SET_ANYWHERE') }}\"\n"
    )
    with pytest.raises(
        LoaderError, match="env var required but not provided: ELT_NOT_SET_ANYWHERE"
    ):
        load_target(tmp_path, tmp_path, None)


def test_generator_writes_what_the_dbt_sources_tell_the_loader_to_read(tmp_path: Path) -> None:
    """The generator is the upstream system; the sources' meta.elt is the loader's only config.
    Every generated table must match its source's format and path pattern."""
    import datetime as dt

    from elt.generator.config import GeneratorConfig
    from elt.generator.run import generate
    from elt.generator.writer import FORMATS
    from elt.loader.config import load_sources
    from elt.loader.files import discover

    generate(tmp_path, GeneratorConfig(start=dt.date(2025, 3, 3)), days=1)
    sources = {f"{t.source}/{t.name}": t for t in load_sources(REPO) if t.source != "elt"}
    assert set(sources) == set(FORMATS)
    for name, fmt in FORMATS.items():
        assert sources[name].format == fmt, name
        assert discover(sources[name], tmp_path), (
            f"{sources[name].path} finds no generated {name} file"
        )


def test_the_bookkeeping_source_yaml_matches_the_loaders_definition() -> None:
    """``_elt__sources.yml`` documents the manifest and quarantine the loader creates:
    the same columns, in the same order, with the same descriptions and statuses."""
    import yaml

    from elt.loader import hash_key
    from elt.loader.bookkeeping import BOOKKEEPING, FileStatus

    doc = yaml.safe_load((REPO / "models/staging/elt/_elt__sources.yml").read_text())
    tables = {t["identifier"]: t for t in doc["sources"][0]["tables"]}
    assert set(tables) == {b.name for b in BOOKKEEPING} | {hash_key.TABLE}
    documented = [(c["name"], c["description"]) for c in tables[hash_key.TABLE]["columns"]]
    assert documented == [(name, text) for name, _, text in hash_key.COLUMNS]
    for book in BOOKKEEPING:
        documented = [(c["name"], c["description"]) for c in tables[book.name]["columns"]]
        assert documented == [(c.name, c.description) for c in book.columns], book.name
    [status] = [c for c in tables["_elt_manifest"]["columns"] if c["name"] == "status"]
    values = status["data_tests"][0]["accepted_values"]["arguments"]["values"]
    assert values == [s.value for s in FileStatus]
