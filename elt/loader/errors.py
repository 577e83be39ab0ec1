"""Errors the loader reports to the user: each message names what is wrong and where."""


class LoaderError(Exception):
    """A problem with configuration, paths or the connection: nothing was loaded (exit 2)."""


class FileLoadError(Exception):
    """One file cannot be loaded; the other files go on (the run exits 1)."""
