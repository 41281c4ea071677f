"""What this server is: the Label Studio API release it speaks and Labelgraph's own build."""
from __future__ import annotations

import functools
import importlib.metadata
from dataclasses import dataclass
from pathlib import Path

from core.config import Settings

SOURCE_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class ServerVersion:
    api_release: str  # the Label Studio release whose API is served (clients compare against it)
    package_version: str  # Labelgraph's own
    commit: str  # "" when not running from a git checkout
    branch: str


def server_version(settings: Settings) -> ServerVersion:
    commit, branch = _git_head(SOURCE_ROOT / ".git")
    return ServerVersion(settings.version, _package_version(), commit, branch)


@functools.cache
def _package_version() -> str:
    try:
        return importlib.metadata.version("labelgraph")
    except importlib.metadata.PackageNotFoundError:
        return ""


@functools.cache
def _git_head(git_dir: Path) -> tuple[str, str]:
    """(commit, branch) of a checkout, read from its files (no git binary); ("", "") elsewhere."""
    try:
        head = (git_dir / "HEAD").read_text().strip()
        if not head.startswith("ref: "):
            return head, ""  # a detached HEAD is the commit itself
        ref = head.removeprefix("ref: ")
        branch = ref.removeprefix("refs/heads/")
        loose = git_dir / ref
        if loose.is_file():
            return loose.read_text().strip(), branch
        packed = git_dir / "packed-refs"
        for line in packed.read_text().splitlines() if packed.is_file() else ():
            sha, _, name = line.partition(" ")
            if name == ref:
                return sha, branch
        return "", branch
    except OSError:
        return "", ""
