from __future__ import annotations

import errno
import os

import pytest

from desktop_sd.core.disk_errors import describe_os_error, os_error_reason


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (errno.ENOSPC, "the disk is full. Free some space or choose another library folder."),
        (errno.EROFS, "the disk is read-only. Choose a library folder you can write to."),
        (errno.EACCES, "permission denied. Choose a library folder you can write to."),
        (errno.ENAMETOOLONG, "the path is too long. Choose a library folder with a shorter path."),
    ],
)
def test_known_errors_say_why_and_what_to_do(code: int, expected: str) -> None:
    assert describe_os_error(OSError(code, os.strerror(code)), "library folder") == expected


def test_other_errors_keep_the_system_words() -> None:
    exc = OSError(errno.EIO, "Input/output error")
    assert os_error_reason(exc) == "Input/output error"
    assert describe_os_error(exc) == "Input/output error. Check the disk or choose another folder."
