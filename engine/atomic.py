# SPDX-License-Identifier: MIT
"""Write files so that a crash or a full disk never leaves a half-written file behind."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def write_bytes_atomically(path: str | os.PathLike[str], data: bytes) -> None:
    """Replace ``path`` with ``data`` in one step.

    The bytes go to a temporary file beside the target, are flushed to disk, and the file is
    renamed over the target; readers see the old file or the new one, never a part. A new file
    gets the usual permissions (0666 less the umask), a replaced one keeps its own.

    Raises
    ------
    OSError
        When the file cannot be written; the temporary file is removed and the target is left
        as it was.
    """
    target = Path(path)
    try:
        mode = target.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = None
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            if mode is not None:
                os.fchmod(f.fileno(), mode)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
