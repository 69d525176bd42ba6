"""Fetching one commit of an app's repository, with credentials kept out of logs, argv and the
checkout.

A URL's user and password are taken out of it and handed to git through GIT_ASKPASS (a script
that reads them from the environment), so `ps`, the log and `.git/config` only ever see the bare
URL; `.git` is deleted after the checkout anyway, so the app never sees where it came from.

The remote's host goes through the SSRF guard (apps.core.net): it is resolved, every address must
be allowed, and git is made to connect to the very address that was checked: http(s) through
`http.curloptResolve`, ssh through `-o HostName=`, git:// by putting the address in the URL.
Redirects are not followed, and git may only speak the URL's own protocol."""

from __future__ import annotations

import functools
import ipaddress
import os
import re
import shutil
import stat
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from apps.core.net import BlockedTarget, resolve

from .base import LogSink, RuntimeProblem, Tick
from .process import run_streamed

REMOTE_SCHEMES = ("https", "http", "ssh", "git")
# What settings.DEPLOY_GIT_ALLOWED_SCHEMES defaults to: the two that authenticate the server.
DEFAULT_SCHEMES = ("https", "ssh")
DEFAULT_PORTS = {"https": 443, "http": 80, "ssh": 22, "git": 9418}
MASK = "***"
_SCP_LIKE = re.compile(r"^[A-Za-z0-9._-]+@(?P<host>[A-Za-z0-9.-]+):[^/].*$")
_HOST = re.compile(r"^[a-z0-9_.-]+$")
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
    scheme: str = "file"  # ssh for git@host:path
    host: str = ""  # without brackets; empty for local repositories
    port: int | None = None
    query_values: tuple[str, ...] = ()  # `?private_token=…`: kept out of logs like a password

    @property
    def secrets(self) -> list[str]:
        return [s for s in (self.username, self.password, *self.query_values) if s]

    @property
    def remote_port(self) -> int:
        return self.port or DEFAULT_PORTS.get(self.scheme, 0)


def _netloc(host: str, port: int | None) -> str:
    """host[:port], an IPv6 address in brackets."""
    shown = f"[{host}]" if ":" in host else host
    return shown + (f":{port}" if port else "")


def _query_items(query: str) -> list[tuple[str, str, str]]:
    return [item.partition("=") for item in query.split("&")] if query else []


def _schemes_text(schemes) -> str:
    return ", ".join(f"{s}://" for s in REMOTE_SCHEMES if s in schemes) + (
        " or git@host:path" if "ssh" in schemes else ""
    )


def parse_git_url(url: str, *, allow_local: bool, schemes=DEFAULT_SCHEMES) -> GitSource:
    """Split credentials off a git URL; raise ValueError with a message for people.
    `schemes`: the remote protocols allowed (settings.DEPLOY_GIT_ALLOWED_SCHEMES)."""
    url = (url or "").strip()
    if not url:
        raise ValueError("A git URL is required.")
    if any(ch.isspace() for ch in url) or url.startswith("-"):
        raise ValueError("That is not a git URL.")
    allowed = [s for s in REMOTE_SCHEMES if s in schemes]
    use = f"Use an {_schemes_text(allowed)} URL." if allowed else "No git URLs are allowed."
    scp = _SCP_LIKE.match(url)
    if scp:  # git@github.com:owner/repo.git
        if "ssh" not in allowed:
            raise ValueError(f"ssh URLs are not allowed here. {use}")
        return GitSource(url=url, scheme="ssh", host=scp["host"].lower())
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError as exc:
        raise ValueError("That is not a git URL: check its host and port.") from exc
    if parts.scheme in REMOTE_SCHEMES:
        if parts.scheme not in allowed:
            raise ValueError(f"{parts.scheme}:// URLs are not allowed here. {use}")
        if not host:
            raise ValueError("The git URL has no host.")
        if not (_HOST.match(host) or (":" in host and "%" not in host and _is_address(host))):
            # Names in their ASCII form only: git's curl would look up the xn-- form of
            # another spelling itself, past the address pinned for it.
            raise ValueError("Write the git URL's host in ASCII (xn--… for other scripts).")
        remote = {"scheme": parts.scheme, "host": host, "port": port}
        if parts.scheme == "ssh" and parts.username and not parts.password:
            return GitSource(url=url, **remote)  # ssh://git@host/… : the user is not a secret
        bare = urlunsplit((parts.scheme, _netloc(host, port), parts.path, parts.query, ""))
        values = tuple(
            unquote(value if sep else name) for name, sep, value in _query_items(parts.query)
        )
        return GitSource(
            url=bare,
            username=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            query_values=values,
            **remote,
        )
    if parts.scheme == "file" or (not parts.scheme and url.startswith("/")):
        if not allow_local:
            raise ValueError(f"Local repositories are not allowed here. {use}")
        return GitSource(url=url)
    raise ValueError(use)


def display_url(url: str) -> str:
    """The URL with any password (or token) and the query's values masked, for people and
    logs: `https://***@host/x.git?private_token=***`."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        return url if _SCP_LIKE.match(url) else MASK
    if parts.scheme not in REMOTE_SCHEMES:
        return url
    masked_user = parts.password or (parts.username and parts.scheme != "ssh")
    if not masked_user and not parts.query:
        return url
    netloc = _netloc(host or "", port)
    if masked_user:
        netloc = f"{MASK}@{netloc}"
    elif parts.username:
        netloc = f"{parts.username}@{netloc}"
    query = "&".join(
        f"{name}={MASK}" if sep else MASK for name, sep, _value in _query_items(parts.query)
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def remote_address(source: GitSource) -> str | None:
    """The address git is to connect to: the remote's host resolved, every address it has
    allowed by the SSRF guard (apps.core.net). None for a local repository. Raises
    BlockedTarget (net.Unresolved when the name does not resolve)."""
    if not source.host:
        return None
    try:
        return resolve(source.host, source.remote_port)
    except UnicodeError as exc:  # a label the IDNA codec refuses (empty, over 63 characters)
        raise BlockedTarget(f"{source.host[:80]} is not a valid host name.") from exc


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def pinned(source: GitSource, address: str | None) -> tuple[str, list[str], str]:
    """(the URL to give git, `-c` options, extra ssh options) that make git connect to
    `address`, the one checked, and nowhere else: no redirects (they could lead to any
    host), and a name is not looked up a second time, which DNS rebinding could answer
    differently."""
    config = ["-c", "http.followRedirects=false"]
    if address is None or _is_address(source.host):
        return source.url, config, ""  # a literal address is what was checked
    if source.scheme in ("http", "https"):
        entry = f"{source.host}:{source.remote_port}:{_netloc(address, None)}"
        return source.url, [*config, "-c", f"http.curloptResolve={entry}"], ""
    if source.scheme == "ssh":
        return source.url, config, f" -o HostName={address}"
    parts = urlsplit(source.url)  # git://: no TLS, no name to check a certificate against
    url = urlunsplit((parts.scheme, _netloc(address, parts.port), parts.path, parts.query, ""))
    return url, config, ""


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
    """Check out `ref` of the repository into `dest` (which must not exist); the commit sha.
    The remote's host is resolved and checked again here (DNS may have changed since the URL
    was saved), and git connects to the address checked."""
    if source.scheme == "file" and not allow_local:
        raise RuntimeProblem("Local repositories are not allowed here.")
    try:
        address = remote_address(source)
    except BlockedTarget as exc:
        raise RuntimeProblem(f"Cannot fetch from {display_url(source.url)}: {exc}") from exc
    url, config, ssh_options = pinned(source, address)
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
            # Only the URL's own protocol: nothing (submodule, alternate) may switch to another.
            "GIT_ALLOW_PROTOCOL": source.scheme,
            "GIT_SSH_COMMAND": "ssh -o BatchMode=yes -o StrictHostKeyChecking=accept-new"
            + ssh_options,
            "QUAYSIDE_GIT_USERNAME": source.username,
            "QUAYSIDE_GIT_PASSWORD": source.password,
        }
        if url.startswith("/"):
            url = "file://" + url

        def git(*args: str, quiet: bool = False) -> int:
            return run_streamed(
                [git_binary(), "-c", "advice.detachedHead=false", *config, "-C", dest, *args],
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
