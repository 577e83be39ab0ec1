"""Errors the loader reports to the user: each message names what is wrong and where.

Exit codes of ``elt load`` follow them, so an orchestrator retries only what can succeed:
0 every file loaded; 1 some files failed (bad files: a retry fails the same way, fix the
files); 2 a configuration or usage error (nothing loaded; fix the settings); 3 a transient
error (connection lost, database busy or down: retry, the run resumes where it stopped).
"""


class LoaderError(Exception):
    """A problem with configuration, paths or the connection: nothing more loads (exit 2)."""

    exit_code = 2


class TransientError(LoaderError):
    """The database went away or stayed busy; files committed so far stay loaded (exit 3)."""

    exit_code = 3


class FileLoadError(Exception):
    """One file cannot be loaded; the other files go on (the run exits 1)."""


class FileNotReady(FileLoadError):
    """A file is not complete yet (still being written): left for the next run, not failed."""


class FileNeedsOwnScan(FileLoadError):
    """A file a shared scan cannot take as it is (blank lines to skip): loaded on its own."""
