"""One exception type per domain. Each carries a message fit to show a user:
it names the problem and what to do about it."""

from __future__ import annotations


class DesktopSDError(Exception):
    """Base of every error the app turns into a readable message."""


class InputError(DesktopSDError):
    """A request, image or mask the engine cannot use as given."""


class ModelError(DesktopSDError):
    """A model that is missing, corrupt, unsupported or refused."""


class DownloadError(DesktopSDError):
    """A download that failed, was refused up front or did not verify."""


class LibraryError(DesktopSDError):
    """The history store could not read or write."""


class OutOfMemoryError(DesktopSDError):
    """Every memory tier was tried and the job still did not fit."""


class Cancelled(DesktopSDError):
    """The user cancelled the job."""


class ServerError(DesktopSDError):
    """A generation server (ComfyUI) refused a job, failed it or could not be used."""


class ServerLost(ServerError):
    """The server could not be reached, or stopped answering mid-job: the job may run elsewhere."""
