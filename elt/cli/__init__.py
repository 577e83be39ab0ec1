"""The ``elt`` command: a thin door onto the library. Each command parses its options, builds
one context (elt/context.py), calls the library and prints what it returns."""

# isort: off
# `elt --help` lists the commands in the order they are added: a night's order
from elt.cli import data, publication, night, change, operations  # noqa: F401 - each adds its commands
from elt.cli.base import main

# isort: on

__all__ = ["main"]
