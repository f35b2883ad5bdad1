"""Writing a set of files all or nothing, under a lock, with every target checked first.

- `repo_lock(root)`: one writer per repository at a time. An `fcntl` lock on a file in `.git/`
  (or beside the targets when there is no `.git/` folder), taken before the files are read and
  planned, so a second run plans against what the first one wrote. The lock file is removed
  again when it was created beside the targets.
- `check_writable(root, paths)`: before anything is written, every folder on the way must be a
  folder (not a file), and the folder each file lands in (or the nearest existing one above it)
  must take a new file. A real probe file is created and removed, so read-only mounts,
  immutable folders and permissions are all seen the same way, also for root.
- `write_all(root, contents)`: each file is first written in full to a temporary file beside
  its target; only when all of them are on disk are they renamed into place. If a rename fails,
  the files already replaced get their old bytes back and new ones are removed, so the set is
  either all new or all old.
- A target that is a symbolic link is written through: the link stays and the file it points
  to gets the new content (the same as an editor would do), as long as the real path stays in
  the repository. `check_writable` refuses (exit 2) a write whose real path leaves it: a
  `.github` that links to a folder elsewhere, a workflow that links to a file elsewhere.
- A rewritten file keeps its mode and owner; a file with other hard links is rewritten in
  place (after every new file is staged), so the links keep seeing the same file.
"""

from __future__ import annotations

import errno
import fcntl
import os
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from mab.errors import UserError, WriteError
from mab.files.reader import read_bytes

LOCK_NAME = "mab-init-ci.lock"
LOCK_WAIT_S = 30.0
_LOCK_POLL_S = 0.1


def lock_path(root: Path) -> Path:
    git = root / ".git"
    return git / LOCK_NAME if git.is_dir() else root / f".{LOCK_NAME}"


@contextmanager
def repo_lock(root: Path, *, wait_s: float | None = None) -> Iterator[None]:
    """Hold the repository's write lock, waiting up to `wait_s` (default `LOCK_WAIT_S`) for
    another mab to finish; the lock file is removed on the way out. Where no lock file can be
    made (a read-only repository), nothing can be written there by anyone, so the run goes on
    without one and `check_writable` explains what is read-only."""
    path = lock_path(root)
    deadline = time.monotonic() + (LOCK_WAIT_S if wait_s is None else wait_s)
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:
            yield
            return
        try:
            _acquire(fd, path, deadline)
            # A previous holder may have removed the file between our open and our lock:
            # then the lock is on a file nobody else will open, so take the new one.
            if not _same_file(fd, path):
                os.close(fd)
                continue
        except BaseException:
            os.close(fd)
            raise
        break
    try:
        yield
    finally:
        # Removed while still held, so a run waiting on this file sees it is gone and retries.
        with suppress(OSError):
            path.unlink()
        os.close(fd)


def _acquire(fd: int, path: Path, deadline: float) -> None:
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise WriteError(
                    f"another `mab init-ci` is writing in this repository (lock {path})",
                    hint=f"wait for it to finish and run again; if none is running, remove {path}",
                ) from None
            time.sleep(_LOCK_POLL_S)


def _same_file(fd: int, path: Path) -> bool:
    try:
        st = path.stat()
    except OSError:
        return False
    own = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (own.st_dev, own.st_ino)


def resolve_target(root: Path, rel: str) -> Path:
    """The file a write of `rel` lands in: the target of a symbolic link, else `root/rel`."""
    path = root / rel
    if path.is_symlink():
        return Path(os.path.realpath(path))
    return path


def escape(root: Path, rel: str) -> str | None:
    """Why a write of `rel` would leave the repository `root` (its real path is elsewhere,
    through a link on the way), or None when it stays inside."""
    real_root = Path(os.path.realpath(root))
    real = Path(os.path.realpath(root / rel))
    if real.is_relative_to(real_root):
        return None
    path = root
    for part in Path(rel).parts:
        path = path / part
        if path.is_symlink() and not Path(os.path.realpath(path)).is_relative_to(real_root):
            shown = path.relative_to(root).as_posix()
            return f"{rel}: {shown} is a link to {path.readlink()}, outside the repository"
    return f"{rel}: its real path {real} is outside the repository"


def check_writable(root: Path, rels: list[str], *, confine: bool = True) -> None:
    """Raise before anything is written if any of `rels` cannot be written (or, with
    `confine`, would be written outside `root`)."""
    escapes = [e for e in (escape(root, rel) for rel in rels) if e] if confine else []
    if escapes:
        raise UserError(
            "will not write " + "; ".join(escapes),
            hint="make it a folder or file of the repository (nothing was written), then run again",
        )
    problems: list[str] = []
    for rel in rels:
        problem = _problem(root, rel)
        if problem:
            problems.append(problem)
    if not problems:
        return
    if any(p.endswith("is a file, not a folder") for p in problems):
        raise UserError(
            "cannot write " + "; ".join(problems),
            hint="move that file out of the way (nothing was written), then run again",
        )
    raise WriteError(
        "cannot write " + "; ".join(problems),
        hint="make those folders writable (nothing was written), then run again",
    )


def _problem(root: Path, rel: str) -> str | None:
    target = resolve_target(root, rel)
    shown = rel if target == root / rel else f"{rel} (a link to {target})"
    if target.is_dir():
        return f"{shown}: is a folder, not a file"
    folder = target.parent
    while not folder.exists():
        if folder.is_symlink():
            return f"{shown}: {folder} is a broken link"
        folder = folder.parent
    if not folder.is_dir():
        return f"{shown}: {_display(root, folder)} is a file, not a folder"
    probe_error = _probe(folder)
    if probe_error:
        return f"{shown}: {_display(root, folder)} is not writable ({probe_error})"
    if target.exists() and not os.access(target, os.W_OK):
        return f"{shown}: the file is read-only"
    return None


def _display(root: Path, path: Path) -> str:
    if path == root:
        return f"the repository folder {root}"
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _probe(folder: Path) -> str | None:
    try:
        fd, name = tempfile.mkstemp(dir=folder, prefix=".mab-probe-")
    except OSError as exc:
        return exc.strerror or str(exc)
    os.close(fd)
    Path(name).unlink()
    return None


@dataclass
class _Staged:
    target: Path
    tmp: Path
    old: bytes | None  # None: the file is new
    mode: int
    in_place: bool = False  # hard-linked, or an owner the new file cannot be given


def write_all(root: Path, contents: Mapping[str, str]) -> None:
    """Write every file of `contents` (relative path -> text), or none of them."""
    created_dirs: list[Path] = []
    staged: list[_Staged] = []
    for rel, text in contents.items():
        try:
            staged.append(_stage(resolve_target(root, rel), text, created_dirs))
        except OSError as exc:
            _discard(staged, created_dirs)
            raise _write_error(rel, exc, "nothing was written") from None
    done: list[_Staged] = []
    for rel, item in zip(contents, staged, strict=True):
        try:
            _commit(item)
        except OSError as exc:
            _restore(done)
            _discard([s for s in staged if s not in done], created_dirs)
            raise _write_error(rel, exc, "every file was put back as it was") from None
        done.append(item)


def _stage(target: Path, text: str, created_dirs: list[Path]) -> _Staged:
    missing = []
    folder = target.parent
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for d in reversed(missing):
        d.mkdir()
        created_dirs.append(d)
    st = target.stat() if target.exists() else None
    old = read_bytes(target) if st is not None else None
    mode = st.st_mode & 0o777 if st is not None else 0o644
    staged = _Staged(target, temp_beside(target, text.encode("utf-8"), mode), old, mode)
    if st is not None:
        staged.in_place = st.st_nlink > 1 or not _same_owner(staged.tmp, st)
    return staged


def _same_owner(tmp: Path, st: os.stat_result) -> bool:
    """Give the new file the old one's owner; False when that is not allowed."""
    own = tmp.stat()
    if (own.st_uid, own.st_gid) == (st.st_uid, st.st_gid):
        return True
    try:
        os.chown(tmp, st.st_uid, st.st_gid)
    except OSError:
        return False
    return True


def _commit(item: _Staged) -> None:
    if not item.in_place:
        item.tmp.replace(item.target)
        return
    _write_in_place(item.target, item.tmp.read_bytes())
    item.tmp.unlink(missing_ok=True)


def _write_in_place(target: Path, data: bytes) -> None:
    with target.open("r+b") as fh:
        fh.write(data)
        fh.truncate()
        fh.flush()
        os.fsync(fh.fileno())


def temp_beside(target: Path, data: bytes, mode: int) -> Path:
    """`data` in full (synced to disk) in a new temporary file beside `target`, with `mode`."""
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.chmod(mode)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def _restore(done: list[_Staged]) -> None:
    for item in reversed(done):
        try:
            if item.old is None:
                item.target.unlink()
            else:
                _put_back(item)
        except OSError:
            pass  # best effort: the error below still names the failure


def _put_back(item: _Staged) -> None:
    if item.in_place:
        _write_in_place(item.target, item.old or b"")
    else:
        temp_beside(item.target, item.old or b"", item.mode).replace(item.target)


def _discard(staged: list[_Staged], created_dirs: list[Path]) -> None:
    for item in staged:
        item.tmp.unlink(missing_ok=True)
    for d in reversed(created_dirs):
        with suppress(OSError):
            d.rmdir()


def _write_error(rel: str, exc: OSError, outcome: str) -> WriteError:
    reason = exc.strerror or str(exc)
    hint = "free some disk space" if exc.errno == errno.ENOSPC else "fix the cause"
    return WriteError(f"cannot write {rel}: {reason}; {outcome}", hint=f"{hint}, then run again")
