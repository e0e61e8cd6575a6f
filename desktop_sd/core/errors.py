"""One exception type per domain. Each carries a message fit to show a user:
it names the problem and what to do about it."""

from __future__ import annotations

from pathlib import Path


class DesktopSDError(Exception):
    """Base of every error the app turns into a readable message."""


class StorageError(DesktopSDError, OSError):
    """The app's own files or folders (settings, registry, user folders) could not be made or written.

    Also an ``OSError``, so code that handles disk errors handles this too.
    """


class InputError(DesktopSDError):
    """A request, image or mask the engine cannot use as given."""


class ModelError(DesktopSDError):
    """A model that is missing, corrupt, unsupported or refused."""


class DownloadError(DesktopSDError):
    """A download that failed, was refused up front or did not verify."""


class LibraryError(DesktopSDError):
    """The history store could not read or write."""


class LibraryDamagedError(LibraryError):
    """The history database is damaged; ``folder``'s history can be rebuilt from its images."""

    def __init__(self, message: str, folder: Path) -> None:
        super().__init__(message)
        self.folder = folder


class OutOfMemoryError(DesktopSDError):
    """Every memory tier was tried and the job still did not fit."""


class Cancelled(DesktopSDError):
    """The user cancelled the job."""


class ServerError(DesktopSDError):
    """A generation server (ComfyUI) refused a job, failed it or could not be used."""


class ServerLost(ServerError):
    """The server could not be reached, or stopped answering mid-job: the job may run elsewhere."""
