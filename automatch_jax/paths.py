"""Checks that an output can be written, made before any work starts.

A command that runs for minutes or hours must not end in an ``OSError`` when it writes its results. Each output
is probed where it will be written: the missing parent folders are created, a temporary file is created in the
folder the output goes to, and both are removed again, so the check holds for read-only mounts and other places
where permission bits say nothing (the process may run as root). A problem is one :class:`AutomatchError` naming
the option and the path.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from automatch_jax.errors import AutomatchError

PROBE_PREFIX = ".automatch-write-check-"


def _blocking_file(path: Path) -> Path | None:
    """The first existing ancestor of ``path`` that is not a folder (so no folder can be created under it)."""
    for ancestor in path.parents:
        if ancestor.exists():
            return None if ancestor.is_dir() else ancestor
    return None


def _probe_folder(folder: Path, path: Path, what: str) -> None:
    """Creates ``folder`` (and its missing parents) and a temporary file in it, then removes everything it made."""
    created: list[Path] = []
    for missing in reversed([folder, *folder.parents]):
        if not missing.exists():
            created.append(missing)
    try:
        for missing in created:
            missing.mkdir()
        handle, probe = tempfile.mkstemp(prefix=PROBE_PREFIX, dir=folder)
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        raise AutomatchError(f"{what} {path}: cannot be written ({exc.strerror or exc})") from None
    finally:
        for made in reversed(created):
            try:
                made.rmdir()
            except OSError:
                break


def check_output_file(path: str | Path, what: str) -> Path:
    """``path`` as a :class:`Path` once a file can be written there (an existing file is overwritten later).

    Refused, as one line naming ``what`` (e.g. ``"--out"``): an existing folder at ``path``, a file among its
    parents, a folder where no file can be created (read-only, not permitted), an existing file that cannot be
    opened for writing.
    """
    path = Path(path)
    if path.is_dir():
        raise AutomatchError(f"{what} {path}: is a folder; expected a file name")
    blocking = _blocking_file(path)
    if blocking is not None:
        raise AutomatchError(f"{what} {path}: {blocking} is a file, not a folder")
    if path.exists():
        try:
            with open(path, "ab"):  # append mode: the file stays as it is
                pass
        except OSError as exc:
            raise AutomatchError(f"{what} {path}: cannot be written ({exc.strerror or exc})") from None
        return path
    _probe_folder(path.parent if str(path.parent) else Path("."), path, what)
    return path


def check_output_dir(path: str | Path, what: str) -> Path:
    """``path`` as a :class:`Path` once it is (or can be made) a folder whose files can be written.

    Refused, as one line naming ``what``: an existing file at ``path`` or among its parents, a folder that cannot be
    created or written into. Nothing is left behind (the check removes the folders it made).
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise AutomatchError(f"{what} {path}: is a file; expected a folder")
    blocking = _blocking_file(path)
    if blocking is not None:
        raise AutomatchError(f"{what} {path}: {blocking} is a file, not a folder")
    _probe_folder(path, path, what)
    return path
