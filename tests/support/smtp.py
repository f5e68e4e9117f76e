"""A real SMTP server on loopback (aiosmtpd) that captures every message it accepts.

Optionally with TLS (``tls="starttls"`` or ``"implicit"``, a self-signed certificate for 127.0.0.1
whose file is ``server.cafile``) and login (``credentials=(user, password)``); ``url`` then carries
the credentials and the ``cafile`` option for MUNIWATCH_SMTP_URL.
"""

from __future__ import annotations

import datetime
import email
import email.policy
import ipaddress
import socket
import ssl
import tempfile
import threading
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _Capture:
    def __init__(self, sink: LoopbackSMTPServer) -> None:
        self.sink = sink

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        if self.sink.reject_with:
            return self.sink.reject_with
        raw = envelope.original_content or envelope.content
        data = raw if isinstance(raw, bytes) else str(raw).encode()
        message = email.message_from_bytes(data, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self.sink.lock:
            self.sink.messages.append(message)
            self.sink.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            encrypted = (
                server.transport is not None and server.transport.get_extra_info("ssl_object") is not None
            )
            self.sink.sessions.append({"tls": encrypted, "authenticated": bool(session.authenticated)})
        return "250 OK"


def _self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, and its key (PEM files in ``folder``)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


class _Authenticator:
    def __init__(self, credentials: tuple[str, str]) -> None:
        self.credentials = credentials

    def __call__(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        if isinstance(data, LoginPassword):
            given = (data.login.decode(), data.password.decode())
            # handled=False: the server answers (235 or 535) itself
            return AuthResult(success=given == self.credentials, handled=False)
        return AuthResult(success=False, handled=False)


class LoopbackSMTPServer:
    """``smtp.url`` for MUNIWATCH_SMTP_URL; ``smtp.messages``; ``stop()``/``start()`` for an outage."""

    def __init__(
        self,
        *,
        tls: Literal["starttls", "implicit"] | None = None,
        credentials: tuple[str, str] | None = None,
    ) -> None:
        self.port = free_port()
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str | None, list[str]]] = []
        # per accepted message: was the session encrypted, and logged in?
        self.sessions: list[dict[str, bool]] = []
        self.lock = threading.Lock()
        self.tls = tls
        self.credentials = credentials
        self.cafile: Path | None = None
        self._tls_context: ssl.SSLContext | None = None
        if tls:
            self._tmp = tempfile.TemporaryDirectory(prefix="smtp-tls-")
            cert, key = _self_signed_certificate(Path(self._tmp.name))
            self.cafile = cert
            self._tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self._tls_context.load_cert_chain(cert, key)
        # An SMTP reply such as "451 try later" makes the server refuse every message.
        self.reject_with: str | None = None
        self._controller: Controller | None = None
        self.start()

    @property
    def url(self) -> str:
        scheme = "smtps" if self.tls == "implicit" else "smtp"
        user = ""
        if self.credentials:
            user = f"{quote(self.credentials[0], safe='')}:{quote(self.credentials[1], safe='')}@"
        query = f"?cafile={quote(str(self.cafile))}" if self.cafile else ""
        return f"{scheme}://{user}127.0.0.1:{self.port}{query}"

    def start(self) -> None:
        if self._controller is None:
            options: dict[str, Any] = {}
            if self.tls == "starttls":
                options.update(tls_context=self._tls_context, require_starttls=True)
            elif self.tls == "implicit":
                options.update(ssl_context=self._tls_context, server_hostname="127.0.0.1")
            if self.credentials:
                options.update(
                    authenticator=_Authenticator(self.credentials),
                    auth_required=True,
                    # aiosmtpd only knows about STARTTLS; an implicit-TLS session is encrypted too
                    auth_require_tls=self.tls == "starttls",
                )
            self._controller = Controller(_Capture(self), hostname="127.0.0.1", port=self.port, **options)
            self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def wait_for(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.05)
        with self.lock:
            return list(self.messages)
