"""Where `quay` keeps its credentials, and which server and tenant it talks to.

QUAY_URL (default http://127.0.0.1:8000) is the Quayside root host; QUAY_CONFIG_DIR (default
~/.config/quay) holds credentials.json, written with mode 0600 in a 0700 directory; QUAY_API_KEY,
when set, is used instead of the stored login; QUAY_TENANT is the tenant when --tenant is not
given (then the one stored at login)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_URL = "http://127.0.0.1:8000"
CLIENT_ID = "quay-cli"


def config_dir() -> Path:
    explicit = os.environ.get("QUAY_CONFIG_DIR")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "quay"


def credentials_path() -> Path:
    return config_dir() / "credentials.json"


def base_url(stored: str | None = None) -> str:
    return (os.environ.get("QUAY_URL") or stored or DEFAULT_URL).rstrip("/")


@dataclass
class Credentials:
    url: str = ""
    access_token: str = ""
    refresh_token: str = ""
    expires_at: float = 0.0
    email: str = ""
    tenant: str = ""

    @classmethod
    def load(cls) -> Credentials | None:
        path = credentials_path()
        try:
            data: dict[str, Any] = json.loads(path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return None
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def save(self) -> Path:
        """Write the file 0600 from its first byte (never world-readable, not even briefly)."""
        directory = config_dir()
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = credentials_path()
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(self.__dict__, handle, indent=2, sort_keys=True)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
        return path

    @staticmethod
    def forget() -> bool:
        try:
            credentials_path().unlink()
        except FileNotFoundError:
            return False
        return True
