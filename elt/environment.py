"""The environment a command runs in (dev, ci or prod) and the schema names it gives.

The dbt macro ``env_schema_prefix`` (macros/generate_schema_name.sql) names dbt's schemas;
this is its Python twin for the commands that run outside dbt (``elt publish``,
``elt rollback``, ``elt versions``). A test compares the two for every environment.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping

from elt.loader.errors import LoaderError

ENVIRONMENTS = ("dev", "ci", "prod")
DEFAULT_ENVIRONMENT = "dev"
# the schema analysts read: views (PostgreSQL) or tables of the published file (DuckDB)
PUBLISHED_SCHEMA = "analytics"


@dataclasses.dataclass(frozen=True)
class Environment:
    name: str
    prefix: str  # '' in prod, e.g. 'dev_alice_' or 'ci_1234_'

    def schema(self, layer: str) -> str:
        return f"{self.prefix}{layer}"

    @property
    def published_schema(self) -> str:
        return self.schema(PUBLISHED_SCHEMA)


def current(environ: Mapping[str, str] | None = None) -> Environment:
    """The environment of ELT_ENV (default dev), with its schema prefix."""
    env = os.environ if environ is None else environ
    name = env.get("ELT_ENV", DEFAULT_ENVIRONMENT).strip().lower()
    if name == "prod":
        return Environment(name, "")
    if name == "dev":
        owner, label = env.get("ELT_DEV_USER") or env.get("USER", ""), "ELT_DEV_USER (or USER)"
    elif name == "ci":
        owner, label = env.get("ELT_CI_RUN_ID", ""), "ELT_CI_RUN_ID"
    else:
        raise LoaderError(f"ELT_ENV is {name}; it must be dev, ci or prod")
    slug = re.sub("[^a-z0-9]+", "_", owner.lower()).strip("_")
    if not slug:
        raise LoaderError(f"ELT_ENV={name} needs {label} to name its schemas")
    return Environment(name, f"{name}_{slug[:24]}_")
