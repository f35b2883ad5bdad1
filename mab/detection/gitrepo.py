"""The repository's git metadata: its remote, its default branch, the branch checked out and
whether the tree has changes. The one module that runs `git` (`git ls-remote`, to ask the
remote for its HEAD; `git status`, for changes); everything else is read from the files under
`.git` so that detection works without git installed.

The remote's URL comes from the repository, so it is checked before git sees it: never an
option (`--` ends them, and a URL starting with `-` is not asked), never a `transport::`
address (`ext::` runs a command), only the usual protocols (`GIT_ALLOW_PROTOCOL`), and git
runs outside the repository, so its `.git/config` (`core.sshCommand`, ...) plays no part.

The default branch is the one whose builds write the shared caches, so a wrong guess is costly:
a feature branch taken for it gets CI that stops running after the merge. `default_branch`
asks, in order: `refs/remotes/origin/HEAD`, the remote itself (`git ls-remote --symref origin
HEAD`, with a short timeout: it usually fails fast without a network), then a local `main` or
`master`. When the only evidence left is the checked-out branch, it gives no answer.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from mab.detection.project import Remote
from mab.detection.remote import parse_remote_url, remote_from_config, remote_urls
from mab.errors import UserError
from mab.files.reader import read_text

LS_REMOTE_TIMEOUT = 5.0  # seconds
CONVENTIONAL = ("main", "master")


@dataclass(frozen=True)
class BranchChoice:
    """The default branch found (None when there is no trustworthy evidence) and why."""

    branch: str | None
    evidence: str
    checked_out: str | None = None


def read_git_file(path: Path) -> str:
    """A file of the git directory, through the one reader (a FIFO or a device there is an
    `OSError` here, as an unreadable file is)."""
    try:
        return read_text(path, strict=False)
    except UserError as exc:
        raise OSError(exc.message) from None


def _head_dir(root: Path) -> Path | None:
    """Where HEAD lives: `.git`, or for a worktree or submodule the directory its `.git` file
    points to (`gitdir: <path>`); None when `root` has no `.git`."""
    git = root / ".git"
    try:
        if git.is_file():
            pointer = read_git_file(git).strip().removeprefix("gitdir:").strip()
            git = (root / pointer).resolve()
    except OSError:
        return None
    return git if git.is_dir() else None


def git_dir(root: Path) -> Path | None:
    """The repository's common git directory (a worktree's `commondir`, else where HEAD is):
    where its config, branches and remote-tracking refs are."""
    head = _head_dir(root)
    if head is None:
        return None
    try:
        common = head / "commondir"
        if common.is_file():
            return (head / read_git_file(common).strip()).resolve()
    except OSError:
        return None
    return head


def _config_text(git: Path) -> str:
    try:
        return read_git_file(git / "config")
    except OSError:
        return ""


def tag_names(root: Path) -> list[str]:
    """The repository's tags (loose refs and packed-refs), sorted."""
    git = git_dir(root)
    if git is None:
        return []
    names: set[str] = set()
    tags = git / "refs" / "tags"
    try:
        names.update(str(p.relative_to(tags)) for p in tags.rglob("*") if p.is_file())
        packed = (git / "packed-refs").read_text(encoding="utf-8", errors="replace")
    except OSError:
        packed = ""
    for line in packed.splitlines():
        _, _, ref = line.partition(" ")
        if ref.startswith("refs/tags/"):
            names.add(ref.removeprefix("refs/tags/"))
    return sorted(names)


def read_remote(root: Path) -> Remote | None:
    """The `origin` remote (else the first one) from the repository's git config, if any."""
    git = git_dir(root)
    return remote_from_config(_config_text(git)) if git is not None else None


def _symref(path: Path) -> str | None:
    """The target of a symbolic ref file (`ref: refs/heads/main`), if it is one."""
    try:
        text = read_git_file(path).strip()
    except OSError:
        return None
    return text[5:].strip() if text.startswith("ref: ") else None


def checked_out_branch(root: Path) -> str | None:
    """The branch HEAD is on (None: detached, or no repository)."""
    head_dir = _head_dir(root)
    head = _symref(head_dir / "HEAD") if head_dir is not None else None
    return head.removeprefix("refs/heads/") if head and head.startswith("refs/heads/") else None


def has_changes(root: Path, timeout: float = 10.0) -> bool | None:
    """Whether tracked files differ from HEAD (`git status --porcelain --untracked-files=no`);
    None when it cannot be told (no repository, no git)."""
    import subprocess

    if _head_dir(root) is None:
        return None
    try:
        done = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            timeout=timeout,
            env=dict(os.environ, GIT_TERMINAL_PROMPT="0", GIT_OPTIONAL_LOCKS="0"),
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return bool(done.stdout.strip()) if done.returncode == 0 else None


def _has_ref(git: Path, ref: str) -> bool:
    if (git / ref).is_file():
        return True
    try:
        packed = read_git_file(git / "packed-refs")
    except OSError:
        return False
    return any(line.split(" ", 1)[-1].strip() == ref for line in packed.splitlines())


ALLOWED_PROTOCOLS = "file:git:http:https:ssh"


def askable_url(url: str, root: Path) -> str | None:
    """`url` as `git ls-remote` may be given it (a relative path made absolute from `root`),
    or None when it is not a URL or path mab will hand to git."""
    url = url.strip()
    if not url or url.startswith("-") or any(c < " " or c == "\x7f" for c in url):
        return None
    scheme, sep, _ = url.partition("://")
    if sep:
        return url if scheme.lower() in ALLOWED_PROTOCOLS.split(":") else None
    if "::" in url.split("/", 1)[0]:  # a transport helper: `ext::sh -c ...`
        return None
    if parse_remote_url(url) is not None or Path(url).is_absolute():  # scp-like, or a path
        return url
    return str((root / url).resolve())


def ask_remote_head(url: str, timeout: float = LS_REMOTE_TIMEOUT) -> str | None:
    """The branch the remote at `url` (checked by `askable_url`) names as its HEAD, or None if
    it cannot be asked (no git, no network, no access, too slow). Never prompts: no terminal,
    ssh in batch mode; run outside any repository."""
    import shutil
    import subprocess  # here: every other path of detection reads files and runs nothing

    git = shutil.which("git")
    if git is None or url.startswith("-"):
        return None
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0", GIT_ALLOW_PROTOCOL=ALLOWED_PROTOCOLS)
    env.setdefault("GIT_SSH_COMMAND", "ssh -o BatchMode=yes -o ConnectTimeout=3")
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_CONFIG_PARAMETERS"):
        env.pop(name, None)
    try:
        done = subprocess.run(
            [git, "ls-remote", "--symref", "--", url, "HEAD"],
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            cwd=os.sep,
            env=env,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    for line in done.stdout.splitlines():
        # ref: refs/heads/main	HEAD
        if line.startswith("ref: refs/heads/") and line.endswith("\tHEAD"):
            return line[len("ref: refs/heads/") : -len("\tHEAD")]
    return None


def default_branch(root: Path, *, ask_remote: bool = True) -> BranchChoice:
    """The repository's default branch and the evidence for it (see the module docstring)."""
    git, head_dir = git_dir(root), _head_dir(root)
    if git is None or head_dir is None:
        return BranchChoice("main", "no git repository here; assuming main")
    head = _symref(head_dir / "HEAD")
    checked_out = head.removeprefix("refs/heads/") if head else None
    origin_head = _symref(git / "refs/remotes/origin/HEAD")
    if origin_head and origin_head.startswith("refs/remotes/origin/"):
        branch = origin_head.removeprefix("refs/remotes/origin/")
        return BranchChoice(branch, f"refs/remotes/origin/HEAD points to {branch}", checked_out)
    url = askable_url(remote_urls(_config_text(git)).get("origin", ""), root)
    if ask_remote and url:
        asked = ask_remote_head(url)
        if asked:
            return BranchChoice(asked, f"the remote origin names {asked} as its HEAD", checked_out)
    local = [b for b in CONVENTIONAL if _has_ref(git, f"refs/heads/{b}") or b == checked_out]
    if local:
        branch = checked_out if checked_out in local else local[0]
        how = "checked out" if branch == checked_out else "a local branch"
        return BranchChoice(branch, f"{branch} is {how} and origin/HEAD is not set", checked_out)
    if checked_out is None:
        return BranchChoice("main", "HEAD is detached and no main or master exists; assuming main")
    return BranchChoice(None, f"only the checked-out branch {checked_out}", checked_out)
