"""Outgoing mail: SMTP when ``SMTP_URL`` is set (``smtp://[user:pass@]host[:port]``,
``smtps://`` for TLS), else ``.eml`` files in ``$EVENTRY_DATA_DIR/outbox/`` (the embedded
default), written whole (temporary file, then rename)."""

from __future__ import annotations

import os
import smtplib
import time
import uuid
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import unquote, urlparse

from infra.config import Settings


def build(sender: str, to: list[str], subject: str, text: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message["Message-ID"] = f"<{uuid.uuid4().hex}@eventry>"
    message.set_content(text)
    return message


class Mailer:
    def __init__(self, settings: Settings) -> None:
        self.smtp_url = settings.smtp_url
        self.sender = settings.mail_from
        self.outbox = settings.data_dir / "outbox"

    def send(self, to: list[str], subject: str, text: str) -> None:
        recipients = [t for t in to if t]
        if not recipients:
            return
        message = build(self.sender, recipients, subject, text)
        if self.smtp_url:
            self._smtp(message, recipients)
        else:
            self._file(message)

    def _smtp(self, message: EmailMessage, to: list[str]) -> None:
        url = urlparse(self.smtp_url or "")
        secure = url.scheme == "smtps"
        port = url.port or (465 if secure else 25)
        connect = smtplib.SMTP_SSL if secure else smtplib.SMTP
        with connect(url.hostname or "127.0.0.1", port, timeout=10) as smtp:
            if url.username:
                smtp.login(unquote(url.username), unquote(url.password or ""))
            smtp.send_message(message, to_addrs=to)

    def _file(self, message: EmailMessage) -> Path:
        self.outbox.mkdir(parents=True, exist_ok=True)
        name = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:12]}.eml"
        staged = self.outbox / f".{name}.tmp"
        staged.write_bytes(bytes(message))
        os.replace(staged, self.outbox / name)
        return self.outbox / name
