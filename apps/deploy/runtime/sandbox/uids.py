"""Host user ids for apps: one per app, from DEPLOY_SANDBOX_UID_RANGE, never shared.

The allocation lives with the runtime on its host (R/uids/), because that is where uids mean
something: `by-uid/<uid>` is created with O_EXCL and holds the app key, `by-app/<app_key>` the
uid, both under one lock. A uid is only handed out again after its app was removed (and its
files with it), so no file of an old app can belong to a new one."""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path

from ..base import RuntimeProblem


def parse_range(text: str) -> tuple[int, int]:
    try:
        first, last = (int(part) for part in text.split("-", 1))
    except ValueError as exc:
        raise RuntimeProblem(
            f"DEPLOY_SANDBOX_UID_RANGE must be 'first-last' (got {text!r})."
        ) from exc
    if not 1000 <= first <= last < 2**31:
        raise RuntimeProblem(
            f"DEPLOY_SANDBOX_UID_RANGE {text!r}: the range must lie within 1000-2147483647."
        )
    return first, last


class UidAllocator:
    def __init__(self, directory: Path, uid_range: tuple[int, int]) -> None:
        self.directory = directory
        self.first, self.last = uid_range
        self.by_app = directory / "by-app"
        self.by_uid = directory / "by-uid"

    @contextmanager
    def _locked(self):
        for path in (self.directory, self.by_app, self.by_uid):
            path.mkdir(parents=True, exist_ok=True)
            os.chmod(path, 0o700)
        with open(self.directory / ".lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    def get(self, app_key: str) -> int | None:
        try:
            return int((self.by_app / app_key).read_text())
        except (OSError, ValueError):
            return None

    def allocate(self, app_key: str) -> int:
        """The app's uid, allocating the lowest free one the first time."""
        found = self.get(app_key)
        if found is not None:
            return found
        with self._locked():
            found = self.get(app_key)
            if found is not None:
                return found
            taken = {int(p.name) for p in self.by_uid.iterdir() if p.name.isdigit()}
            for uid in range(self.first, self.last + 1):
                if uid in taken or _uid_in_use_by_host(uid):
                    continue
                fd = os.open(self.by_uid / str(uid), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w") as handle:
                    handle.write(app_key)
                (self.by_app / app_key).write_text(str(uid))
                return uid
        raise RuntimeProblem("Every uid of DEPLOY_SANDBOX_UID_RANGE is taken: widen the range.")

    def release(self, app_key: str) -> None:
        with self._locked():
            uid = self.get(app_key)
            (self.by_app / app_key).unlink(missing_ok=True)
            if uid is not None:
                (self.by_uid / str(uid)).unlink(missing_ok=True)

    def owners(self) -> dict[int, str]:
        out = {}
        if self.by_uid.is_dir():
            for path in self.by_uid.iterdir():
                if path.name.isdigit():
                    out[int(path.name)] = path.read_text()
        return out


def _uid_in_use_by_host(uid: int) -> bool:
    """A uid /etc/passwd gives to someone: never hand that to an app."""
    import pwd

    try:
        pwd.getpwuid(uid)
    except KeyError:
        return False
    return True
