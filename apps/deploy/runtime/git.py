"""Fetching one commit of an app's repository, with credentials kept out of logs, argv and the
checkout.

A URL's user and password are taken out of it and handed to git through GIT_ASKPASS (a script
that reads them from the environment), so `ps`, the log and `.git/config` only ever see the bare
URL; `.git` is deleted after the checkout anyway, so the app never sees where it came from."""

from __future__ import annotations

import functools
import os
import re
import shutil
import stat
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from .base import LogSink, RuntimeProblem, Tick
from .process import run_streamed

REMOTE_SCHEMES = ("https", "http", "ssh", "git")
_SCP_LIKE = re.compile(r"^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^/].*$")
_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,254}$")

ASKPASS = """#!/bin/sh
case "$1" in
  Username*) printf '%s\\n' "$QUAYSIDE_GIT_USERNAME" ;;
  *) printf '%s\\n' "$QUAYSIDE_GIT_PASSWORD" ;;
esac
"""


@functools.cache
def git_binary() -> str:
    found = shutil.which("git")
    if not found:
        raise RuntimeProblem("git is not installed on this machine.")
    return found


@dataclass(frozen=True)
class GitSource:
    url: str  # without credentials
    username: str = ""
    password: str = ""

    @property
    def secrets(self) -> list[str]:
        return [s for s in (self.username, self.password) if s]


def parse_git_url(url: str, *, allow_local: bool) -> GitSource:
    """Split credentials off a git URL; raise ValueError with a message for people."""
    url = (url or "").strip()
    if not url:
        raise ValueError("A git URL is required.")
    if any(ch.isspace() for ch in url) or url.startswith("-"):
        raise ValueError("That is not a git URL.")
    if _SCP_LIKE.match(url):  # git@github.com:owner/repo.git
        return GitSource(url=url)
    parts = urlsplit(url)
    if parts.scheme in REMOTE_SCHEMES:
        if not parts.hostname:
            raise ValueError("The git URL has no host.")
        netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
        if parts.scheme == "ssh" and parts.username and not parts.password:
            return GitSource(url=url)  # ssh://git@host/… : the user is not a secret
        bare = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
        return GitSource(
            url=bare, username=unquote(parts.username or ""), password=unquote(parts.password or "")
        )
    if parts.scheme == "file" or (not parts.scheme and url.startswith("/")):
        if not allow_local:
            raise ValueError("Local repositories are not allowed here; use an https or ssh URL.")
        return GitSource(url=url)
    raise ValueError("Use an https://, ssh://, git:// or git@host:path URL.")


def display_url(url: str) -> str:
    """The URL with any password (or token) masked, for people and logs."""
    parts = urlsplit(url)
    if parts.scheme in REMOTE_SCHEMES and (
        parts.password or (parts.username and parts.scheme != "ssh")
    ):
        netloc = "***@" + (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
    return url


def validate_ref(ref: str) -> str:
    ref = (ref or "").strip()
    if not _REF.match(ref) or ".." in ref or ref.endswith((".lock", "/")):
        raise ValueError("That is not a branch, tag or commit name.")
    return ref


def fetch(
    source: GitSource,
    ref: str,
    dest: str,
    *,
    log: LogSink,
    tick: Tick,
    timeout_s: float,
    allow_local: bool,
) -> str:
    """Check out `ref` of the repository into `dest` (which must not exist); the commit sha."""
    dest_path = Path(dest)
    dest_path.mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix="qs-git-") as scratch:
        askpass = Path(scratch) / "askpass.sh"
        askpass.write_text(ASKPASS)
        askpass.chmod(stat.S_IRWXU)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": scratch,
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_ASKPASS": str(askpass),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_ALLOW_PROTOCOL": "https:http:ssh:git" + (":file" if allow_local else ""),
            "GIT_SSH_COMMAND": "ssh -o BatchMode=yes -o StrictHostKeyChecking=accept-new",
            "QUAYSIDE_GIT_USERNAME": source.username,
            "QUAYSIDE_GIT_PASSWORD": source.password,
        }
        url = source.url
        if url.startswith("/"):
            url = "file://" + url

        def git(*args: str, quiet: bool = False) -> int:
            return run_streamed(
                [git_binary(), "-c", "advice.detachedHead=false", "-C", dest, *args],
                cwd=scratch,
                env=env,
                log=(lambda _line: None) if quiet else log,
                tick=tick,
                timeout_s=timeout_s,
                what="git fetch",
            )

        if git("init", "-q") != 0:
            raise RuntimeProblem("git init failed.")
        if git("remote", "add", "origin", url) != 0:
            raise RuntimeProblem("git remote add failed.")
        log(f"Fetching {ref} from {display_url(source.url)}")
        status = git("fetch", "-q", "--depth", "1", "origin", ref)
        if status != 0:
            # A commit sha the server will not serve shallowly: fetch everything, then look.
            status = git("fetch", "-q", "origin", quiet=True)
            if status != 0:
                raise RuntimeProblem(
                    f"Could not fetch {ref} from {display_url(source.url)} (git exit {status})."
                )
            target = ref
        else:
            target = "FETCH_HEAD"
        if git("checkout", "-q", "--detach", target) != 0:
            raise RuntimeProblem(f"'{ref}' is not a branch, tag or commit of the repository.")
        sha = subprocess.run(
            [git_binary(), "-C", dest, "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            env=env,
            check=False,
            timeout=30,
        ).stdout.strip()
    shutil.rmtree(dest_path / ".git", ignore_errors=True)
    log(f"Checked out {sha[:12]}")
    return sha
