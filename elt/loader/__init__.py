"""The thin loader (``elt load``): raw files → the ``raw`` schema, idempotent and atomic per file."""
