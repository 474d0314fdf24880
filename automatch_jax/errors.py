"""User-facing errors.

Every problem a user can cause (a missing file, a malformed annotation, an unknown name) is raised as an
:class:`AutomatchError` whose message is one line naming the file or value and the problem. The CLI prints
``automatch: error: <message>`` and exits with code 2; library users catch the exception.
"""

from __future__ import annotations


class AutomatchError(Exception):
    """A problem with the user's input, described in one line."""

    exit_code = 2

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


class DatasetError(AutomatchError):
    """A dataset root, sequence folder or annotation file is missing or malformed."""


class ResultsError(AutomatchError):
    """A tracker's result or time file is missing or malformed."""
