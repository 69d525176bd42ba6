"""Local-mode email: every message is printed to the console and kept as one `.eml` file.

The files (settings.LOCAL_MAILBOX_DIR, default `.local/mail/`) open in any mail client, and
verification links or codes can be read from them by scripts."""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Sequence
from pathlib import Path

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends.console import EmailBackend as ConsoleEmailBackend


def mailbox_dir() -> Path:
    configured = getattr(settings, "LOCAL_MAILBOX_DIR", None)
    return Path(configured) if configured else Path(settings.BASE_DIR) / ".local" / "mail"


class ConsoleAndFileEmailBackend(ConsoleEmailBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        if not email_messages:
            return 0
        sent = super().send_messages(email_messages)
        directory = mailbox_dir()
        directory.mkdir(parents=True, exist_ok=True)
        for message in email_messages:
            self._write(directory, message)
        return sent

    @staticmethod
    def _write(directory: Path, message: EmailMessage) -> Path:
        # Sortable by time, unique across processes.
        name = f"{time.strftime('%Y%m%d-%H%M%S')}-{time.time_ns() % 10**9:09d}"
        path = directory / f"{name}-{secrets.token_hex(3)}.eml"
        data = message.message().as_bytes(linesep="\r\n")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        return path
