"""Outside channels behind one interface: e-mail (SMTP), Zalo OA, SMS gateway, webhooks.

`send` returns on success and raises `Retry` (try again later, optionally after a given delay)
or `Refused` (retrying cannot help: park it). Addresses and bodies never reach the logs.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import smtplib
import socket
import time
from dataclasses import dataclass
from email.header import Header
from email.mime.text import MIMEText
from email.utils import formataddr, parseaddr
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests

from chassis.config import setting


class Retry(Exception):
    def __init__(self, reason: str, after: float | None = None) -> None:
        super().__init__(reason)
        self.after = after


class Refused(Exception):
    """Retrying cannot help (a 4xx, an address refused): the delivery is parked."""


@dataclass(frozen=True)
class Outgoing:
    id: str  # the delivery id: providers that de-duplicate get it as an idempotency key
    event_id: str
    recipient: str
    address: str
    subject: str
    body: str


class Channel(Protocol):
    name: str

    def send(self, message: Outgoing) -> None: ...


def _http_outcome(answer: requests.Response) -> None:
    if answer.status_code == 429:
        retry_after = answer.headers.get("Retry-After", "")
        raise Retry("rate limited (429)", float(retry_after) if retry_after.isdigit() else None)
    if answer.status_code >= 500:
        raise Retry(f"provider error {answer.status_code}")
    if answer.status_code >= 400:
        raise Refused(f"refused {answer.status_code}")


def _post(url: str, timeout: float, **kwargs: Any) -> requests.Response:
    try:
        return requests.post(url, timeout=timeout, **kwargs)
    except requests.RequestException as exc:  # down, unreachable, timed out: all worth another try
        raise Retry(type(exc).__name__) from exc


def settings(config: dict[str, Any], *names: str) -> list[str]:
    """A channel's settings: the service config first (tests), then the environment."""
    return [str(config.get(n, setting(n))) for n in names]


class Email:
    name = "email"

    def __init__(self, config: dict[str, Any]) -> None:
        self.host, port, self.sender, self.starttls, self.user, self.password = settings(
            config, "SMTP_HOST", "SMTP_PORT", "SMTP_FROM", "SMTP_STARTTLS", "SMTP_USER", "SMTP_PASSWORD"
        )
        self.port = int(port)

    def send(self, message: Outgoing) -> None:
        # compat32 with an explicit UTF-8 Header: the default policy folds Vietnamese subjects
        # into encoded words that lose the space between them in mail readers.
        mail = MIMEText(message.body, "plain", "utf-8")
        name, address = parseaddr(self.sender)
        mail["From"] = formataddr((str(Header(name, "utf-8")), address)) if name else address
        mail["To"] = message.address
        mail["Subject"] = Header(message.subject, "utf-8")
        # The delivery id as Message-ID: a resend after a crash between send and record is recognisable.
        mail["Message-ID"] = f"<{message.id}@sangkien.congdoan.vn>"
        try:
            with smtplib.SMTP(self.host, self.port, timeout=10) as smtp:
                if self.starttls == "on":
                    smtp.starttls()
                if self.user:
                    smtp.login(self.user, self.password)
                smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            raise Refused("recipient refused") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise Retry(type(exc).__name__) from exc


class Zalo:
    """Zalo Official Account: customer-service text message to a user id (error != 0 is a failure)."""

    name = "zalo"

    def __init__(self, config: dict[str, Any]) -> None:
        self.url, self.token, timeout = settings(
            config, "ZALO_API_URL", "ZALO_ACCESS_TOKEN", "NOTIFY_HTTP_TIMEOUT_SECONDS"
        )
        self.timeout = float(timeout)

    def send(self, message: Outgoing) -> None:
        answer = _post(
            self.url,
            self.timeout,
            json={"recipient": {"user_id": message.address}, "message": {"text": f"{message.subject}\n{message.body}"}},
            headers={"access_token": self.token, "X-Idempotency-Key": message.id},
        )
        _http_outcome(answer)
        error = (answer.json() if answer.content else {}).get("error", 0)
        if error:
            raise Retry(f"zalo error {error}")


class Sms:
    name = "sms"

    def __init__(self, config: dict[str, Any]) -> None:
        self.url, self.token, self.sender, timeout = settings(
            config, "SMS_API_URL", "SMS_API_TOKEN", "SMS_SENDER", "NOTIFY_HTTP_TIMEOUT_SECONDS"
        )
        self.timeout = float(timeout)

    def send(self, message: Outgoing) -> None:
        answer = _post(
            self.url,
            self.timeout,
            json={"to": message.address, "sender": self.sender, "text": message.subject},
            headers={"Authorization": f"Bearer {self.token}", "Idempotency-Key": message.id},
        )
        _http_outcome(answer)


def webhook_url_problem(url: str, allow_private: bool) -> tuple[str, str] | None:
    """Why a webhook may not be sent to this URL, in English and Vietnamese, or None.

    Subscribers are outside systems: a URL into the platform's own network (the awards API, the
    database, cloud metadata) would let anyone who can subscribe make notify call it.
    """
    if allow_private:
        return None
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        return "Webhooks are delivered over https only.", "Webhook chỉ được gửi qua https."
    try:
        addresses = {
            info[4][0] for info in socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
        }
    except (socket.gaierror, UnicodeError, ValueError):
        return "The host does not resolve.", "Không phân giải được tên máy chủ."
    if any(not ipaddress.ip_address(a.split("%")[0]).is_global for a in addresses):
        return "The host is a private or local address.", "Máy chủ là địa chỉ nội bộ hoặc cục bộ."
    return None


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """`t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">`: the receiver rejects old or forged posts."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


class Webhook:
    """The CloudEvent as JSON, signed with the subscriber's secret."""

    name = "webhook"

    def __init__(self, config: dict[str, Any], secrets: Any) -> None:
        self.secrets = secrets  # subscription id -> secret (None once disabled), looked up at send time
        timeout, allow = settings(config, "NOTIFY_HTTP_TIMEOUT_SECONDS", "WEBHOOK_ALLOW_PRIVATE")
        self.timeout, self.allow_private = float(timeout), allow == "on"

    def send(self, message: Outgoing) -> None:
        # Checked again at send time: the name may resolve elsewhere than when it was subscribed.
        problem = webhook_url_problem(message.address, self.allow_private)
        if problem is not None:
            raise Refused(problem[0])
        body = message.body.encode()
        secret = self.secrets(message.recipient.removeprefix("webhook:"))
        if secret is None:
            raise Refused("subscription removed")
        headers = {
            "Content-Type": "application/cloudevents+json; charset=utf-8",
            "X-VGCL-Signature": signature(secret, int(time.time()), body),
            "X-VGCL-Delivery": message.id,
            "X-VGCL-Event-Id": message.event_id,
        }
        _http_outcome(_post(message.address, self.timeout, data=body, headers=headers))
