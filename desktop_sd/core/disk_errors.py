"""Plain words for a failed disk operation: why it failed and what the user can do.

The one table from ``errno`` to a message; every layer that writes the user's
files (projects, the library, exports, images from the command line) uses it.
"""

from __future__ import annotations

import errno

_REASONS = {
    errno.ENOSPC: "the disk is full",
    errno.EROFS: "the disk is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.ENAMETOOLONG: "the path is too long",
}
if hasattr(errno, "EDQUOT"):  # not on Windows
    _REASONS[errno.EDQUOT] = "the disk quota is used up"

_HINTS = {
    errno.ENOSPC: "Free some space or choose another {place}.",
    errno.EROFS: "Choose a {place} you can write to.",
    errno.EACCES: "Choose a {place} you can write to.",
    errno.EPERM: "Choose a {place} you can write to.",
    errno.ENAMETOOLONG: "Choose a {place} with a shorter path.",
}
if hasattr(errno, "EDQUOT"):
    _HINTS[errno.EDQUOT] = _HINTS[errno.ENOSPC]
_DEFAULT_HINT = "Check the disk or choose another {place}."


def os_error_reason(exc: OSError) -> str:
    """Why ``exc`` happened, in a few lower-case words ("the disk is full")."""
    return _REASONS.get(exc.errno or 0, exc.strerror or str(exc))


def describe_os_error(exc: OSError, place: str = "folder") -> str:
    """``"<reason>. <what to do>"``; ``place`` is what the user may pick instead ("folder", "library folder")."""
    hint = _HINTS.get(exc.errno or 0, _DEFAULT_HINT).format(place=place)
    return f"{os_error_reason(exc)}. {hint}"
