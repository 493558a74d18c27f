"""Reading the files a spec names: regular UTF-8 files of bounded size only (devices,
pipes and directories are refused before anything is read)."""

from __future__ import annotations

import os
import stat as _stat
from pathlib import Path

from ..errors import SpecFileError

__all__ = ["read_text_file", "MAX_FILE_BYTES"]

#: Largest spec, ``uses`` or observation file read, in bytes.
MAX_FILE_BYTES = 16 * 2**20


def read_text_file(path: str | Path, what: str = "a spec file",
                   limit: int | None = None) -> str:
    """The UTF-8 text of a regular file of at most ``limit`` bytes (default
    :data:`MAX_FILE_BYTES`); devices, pipes and directories are refused before anything
    is read, and a file in another encoding is an error naming the line.

    >>> read_text_file("/dev/zero")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    cpspec.errors.SpecFileError: /dev/zero: not a regular file (a device, ...
    """
    limit = MAX_FILE_BYTES if limit is None else limit
    try:
        st = os.stat(path)
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise SpecFileError(f"{path}: cannot read {what}: {reason}") from None
    if not _stat.S_ISREG(st.st_mode):
        raise SpecFileError(f"{path}: not a regular file (a device, a pipe or a directory); "
                            f"{what} must be an ordinary file")
    if st.st_size > limit:
        raise SpecFileError(f"{path}: {st.st_size:,} bytes, above the limit of {limit:,} for "
                            f"{what} (cpspec.spec.files.MAX_FILE_BYTES)")
    try:
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise SpecFileError(f"{path}: cannot read {what}: {exc.strerror}") from None
    if len(data) > limit:
        raise SpecFileError(f"{path}: more than {limit:,} bytes, the limit for {what} "
                            "(cpspec.spec.files.MAX_FILE_BYTES)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise SpecFileError(f"{path}, line {line}: byte 0x{data[exc.start]:02x} is not "
                            f"UTF-8; {what} must be UTF-8 text (re-save it as UTF-8, e.g. "
                            "iconv -f latin1 -t utf-8)") from None
    return text[1:] if text.startswith("\ufeff") else text
