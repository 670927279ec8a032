"""Atomic file and folder writes: a reader sees the old content or the new, never a half.

Files and folders are created with the modes the user's umask gives (``0644``/``0755``
under ``022``), never the private ``0600``/``0700`` of :mod:`tempfile`: a staging folder is
renamed into ``site/`` or ``results/`` and must be readable there like any other.
"""

from __future__ import annotations

import errno
import logging
import os
import secrets
import shutil
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)


def current_umask() -> int:
    """The process's umask, read without changing it where Linux allows (no race with threads)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """The mode an ordinary new file gets: ``0o666`` less the umask."""
    return 0o666 & ~current_umask()


def make_unique_dir(parent: Path, prefix: str) -> Path:
    """A new empty folder ``parent/<prefix><random>``, with the umask's mode (unlike ``mkdtemp``)."""
    parent.mkdir(parents=True, exist_ok=True)
    for _ in range(100):
        path = parent / f"{prefix}{secrets.token_hex(4)}"
        try:
            path.mkdir()
        except FileExistsError:
            continue
        return path
    raise FileExistsError(errno.EEXIST, "no free name for a staging folder", str(parent / prefix))


def atomic_write_bytes(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename.

    ``durable=False`` skips the ``fsync`` (a few milliseconds a file on a busy disk, most of a
    small rebuild's writes): for caches that check what they read (a digest, JSON, a pickle),
    where a write lost in a crash is only a miss.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), file_mode())  # mkstemp makes 0600 files
            handle.write(data)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str, *, durable: bool = True) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically (``durable``: see :func:`atomic_write_bytes`)."""
    atomic_write_bytes(path, text.encode("utf-8"), durable=durable)


def _shown(path: Path, root: Path) -> str:
    """``path`` for a message: relative to the folder above ``root`` (``results/x``), else as given."""
    try:
        return path.relative_to(root.parent).as_posix()
    except ValueError:
        return str(path)


def confinement_problem(path: Path, root: Path) -> str | None:
    """Why ``path`` may not be deleted as a part of ``root``, or None.

    ``path`` must name an entry below ``root`` (no ``..``), and the folder holding it must lie
    inside ``root`` once symbolic links are resolved: a link among ``path``'s parents would
    make a deletion land wherever it points. ``path`` itself may be a link (the link is what
    goes, never its target).
    """
    try:
        relative = path.relative_to(root)
    except ValueError:
        return f"{path} is not inside {root}"
    if not relative.parts or ".." in relative.parts:
        return f"{_shown(path, root)} is not an entry inside {_shown(root, root)}"
    real_root = root.resolve()
    parent = path.parent
    while parent != root:
        if parent.is_symlink():
            return (f"{_shown(parent, root)} is a symbolic link to {os.readlink(parent)}: "
                    f"nothing is deleted through it")
        parent = parent.parent
    real_parent = path.parent.resolve()
    if real_parent != real_root and real_root not in real_parent.parents:
        return f"{_shown(path.parent, root)} lies outside {_shown(root, root)} once links are resolved"
    return None


def remove_confined(path: Path, root: Path, *, ignore_errors: bool = False) -> bool:
    """Delete ``path`` (a file, a folder tree or a symbolic link) as a part of ``root``; True if gone.

    The one way litblog deletes in the project, the store or its own folders. A symbolic link is
    removed itself, never followed (``shutil.rmtree`` does not follow links inside a tree either),
    so nothing outside ``root`` is ever deleted; a ``path`` reached through a link, or outside
    ``root``, is left alone with a warning that says so (see :func:`confinement_problem`).
    ``ignore_errors``: an ``OSError`` while deleting leaves what remains (False) instead of raising.
    """
    problem = confinement_problem(path, root)
    if problem is not None:
        log.warning(f"not deleted: {problem}")
        return False
    try:
        if path.is_symlink() or (path.exists() and not path.is_dir()):
            path.unlink()
        elif path.is_dir():
            shutil.rmtree(path)
    except FileNotFoundError:
        pass
    except OSError:
        if not ignore_errors:
            raise
    return not (path.exists() or path.is_symlink())


def discard(path: Path) -> bool:
    """Remove ``path`` whatever it is; if it cannot be removed, rename it out of the way.

    Returns False when it is still there under its own name. A leftover that cannot be
    deleted (a read-only folder inside it) must not fail every later build.
    """
    try:
        if remove_confined(path, path.parent):
            return True
    except OSError:
        pass
    try:
        os.replace(path, path.with_name(f"{path.name}.trash-{secrets.token_hex(4)}"))
        return True
    except OSError:
        return not (path.exists() or path.is_symlink())


def replace_dir(staging: Path, target: Path) -> None:
    """Put the finished folder ``staging`` in place of ``target``.

    ``target`` is first renamed aside, so at every moment one complete version exists under
    ``target`` or its aside name; :func:`recover_dir` puts the aside one back after a crash
    between the two renames. A leftover aside that cannot be deleted is renamed out of the way.
    """
    aside = target.with_name(f".{target.name}.old")
    if aside.exists() or aside.is_symlink():
        if not discard(aside):
            raise OSError(errno.EEXIST, "a leftover of an earlier build is in the way and cannot be removed",
                          str(aside))
    if target.exists():
        os.replace(target, aside)
    try:
        os.replace(staging, target)
    except BaseException:
        if aside.exists() and not target.exists():
            os.replace(aside, target)  # put the previous version back: the site is never missing
        raise
    discard(aside)


def recover_dir(target: Path) -> None:
    """Undo a :func:`replace_dir` that was interrupted between its two renames."""
    aside = target.with_name(f".{target.name}.old")
    if aside.is_dir() and not aside.is_symlink() and not target.exists():
        os.replace(aside, target)
    elif aside.exists() or aside.is_symlink():
        discard(aside)


def is_inside(path: Path, folder: Path) -> bool:
    """``path``, symlinks resolved, lies inside ``folder`` (resolved too)."""
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True
