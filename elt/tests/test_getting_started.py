"""docs/getting-started.md, followed word for word: every command of its walk-through runs as
written, in order, in a fresh copy of the project, with no USER (containers, cron and many
CI runners have none)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from elt.environment import current
from elt.tests.conftest import REPO
from elt.tests.project_copy import copy_project
from elt.tests.test_slim_ci import VENV

PAGE = REPO / "docs" / "getting-started.md"
BLOCK = re.compile(r"^```sh\n(.*?)^```", re.MULTILINE | re.DOTALL)


def walk_through() -> list[str]:
    """The sh blocks of the page's walk-through section, in order."""
    text = PAGE.read_text()
    section = text.split("## The walk-through", 1)[1].split("\n## ", 1)[0]
    return BLOCK.findall(section)


def newcomer_environment(home: Path) -> dict[str, str]:
    """A shell as a newcomer's: no USER or login variable, none of the project's settings
    (the tests' own included), a home folder of its own."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ELT_", "DBT_")) and k not in ("USER", "LOGNAME", "USERNAME")
    }
    env["HOME"] = str(home)
    env["ELT_NO_INSTALL"] = "1"  # the copy shares the repository's .venv: never reinstall into it
    return env


def test_the_walk_through_has_the_commands_a_newcomer_needs() -> None:
    commands = "\n".join(walk_through())
    for needed in ("make run", ".venv/bin/elt where", "elt analyses", "make analyses", "elt env"):
        assert needed in commands, needed
    # the commands the page used to show and a newcomer does not have
    assert "duckdb -readonly" not in PAGE.read_text()
    assert not re.search(r"(?m)^elt ", commands)


@pytest.mark.slow
def test_the_walk_through_runs_as_written_without_user(tmp_path: Path) -> None:
    project = tmp_path / "newcomer"
    copy_project(project)
    (project / ".venv").symlink_to(VENV)
    home = tmp_path / "home" / "ana"
    home.mkdir(parents=True)
    env = newcomer_environment(home)
    prefix = current({**env, "ELT_ENV": "dev"}).prefix
    assert prefix == "dev_ana_"  # the home folder names the newcomer
    said = []
    for block in walk_through():
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", block],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        assert done.returncode == 0, (block, done.stdout[-3000:], done.stderr[-3000:])
        said.append(done.stdout)
    first, mine, night = said
    assert f"schema {prefix}analytics" in first
    assert f"warehouse/{prefix}published.duckdb" in first
    assert "v000001" in first
    assert "daily_orders_by_channel:" in first
    assert "order_lines:" in first
    assert "metric_time__month" in first
    assert "revenue" in first
    assert "net_revenue_usd" in mine
    assert "region" in mine
    assert "published v000002" in night
    assert (project / "warehouse" / f"{prefix}published.duckdb").is_file()
