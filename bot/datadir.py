"""The bot's own folder for files that are not the database: caches and temporary files.

Never the shared system temp folder: another local user could create a predictable folder
there first and swap what the bot reads (a certificate background), or read what it writes
(an export's temporary sheets, names and schools included). Folders made here are the
process owner's, mode 0700.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

_root = Path("data")


def use_data_folder(folder: Path, process_temp: bool = False) -> None:
    """Caches go under `folder` from now on. `process_temp` also moves every temporary file
    of this process there (tempfile: openpyxl's write-only sheets; matplotlib's config and
    font cache unless MPLCONFIGDIR is set) — for `python -m bot`, not for tests that build
    many apps in one process."""
    global _root
    _root = Path(folder)
    if process_temp:
        tempfile.tempdir = str(private_folder("tmp"))
        os.environ.setdefault("MPLCONFIGDIR", str(private_folder("matplotlib")))


def private_folder(name: str) -> Path:
    """`<data folder>/<name>`, created if missing, owned by this process's user, mode 0700."""
    _root.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder = _root / name
    folder.mkdir(mode=0o700, exist_ok=True)
    for path in (_root, folder):
        info = path.lstat()
        if path.is_symlink() or info.st_uid != os.geteuid():
            raise PermissionError(f"{path} is not this user's own folder")
        if info.st_mode & 0o077:
            path.chmod(0o700)
    return folder


def write_private_file(path: Path, content: bytes) -> None:
    """Write `path` (in a private folder) whole or not at all: a unique file that follows no
    link, renamed into place, so a reader never sees half of it."""
    fd, part = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(content)
        os.replace(part, path)
    except BaseException:
        Path(part).unlink(missing_ok=True)
        raise
