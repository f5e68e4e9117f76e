"""Where alert e-mails go: an SMTP server (``MUNIWATCH_SMTP_URL``) or, without one, ``.eml`` files
in the outbox folder.

``smtp://user:pass@host:587`` — plain SMTP, upgraded with STARTTLS when the server offers it;
``smtps://user:pass@host:465`` — implicit TLS. Query options: ``starttls=auto|require|never``
(default auto), ``verify=false`` (accept any certificate: local sinks only), ``cafile=/path``,
``timeout=30``. Credentials in the URL may be percent-encoded; when present, the transport logs in.

Errors are sorted into what to do next: :class:`TransientSendError` (connection, 4xx replies,
authentication or configuration problems — retried by a later run) and
:class:`PermanentSendError` (a 5xx refusal of the recipient or the message — recorded as failed).
"""

from __future__ import annotations

import logging
import os
import re
import smtplib
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from pipeline.settings import Settings

LOGGER = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 30.0
_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._@-]")


class SendError(Exception):
    """A message was not accepted. ``permanent`` says whether retrying can help."""

    permanent = False

    def __init__(self, reason: str, *, code: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


class TransientSendError(SendError):
    permanent = False


class PermanentSendError(SendError):
    permanent = True


class Transport(Protocol):
    description: str

    def send(self, raw: bytes, *, sender: str, recipient: str, message_id: str) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True, kw_only=True)
class SMTPOptions:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    implicit_tls: bool = False
    starttls: Literal["auto", "require", "never"] = "auto"
    verify: bool = True
    cafile: str | None = None
    timeout: float = DEFAULT_TIMEOUT_S

    @property
    def description(self) -> str:
        scheme = "smtps" if self.implicit_tls else "smtp"
        user = f"{self.username}@" if self.username else ""
        return f"{scheme}://{user}{self.host}:{self.port}"


def parse_smtp_url(url: str) -> SMTPOptions:
    """Options from MUNIWATCH_SMTP_URL; ValueError naming what is wrong (never echoing a password)."""
    parts = urlsplit(url)
    if parts.scheme not in {"smtp", "smtps"}:
        raise ValueError("MUNIWATCH_SMTP_URL must start with smtp:// or smtps://")
    if not parts.hostname:
        raise ValueError("MUNIWATCH_SMTP_URL has no host (smtp://user:pass@host:port)")
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    unknown = set(query) - {"starttls", "verify", "cafile", "timeout"}
    if unknown:
        raise ValueError(f"MUNIWATCH_SMTP_URL: unknown option(s) {', '.join(sorted(unknown))}")
    starttls = query.get("starttls", "auto").lower()
    if starttls not in {"auto", "require", "never"}:
        raise ValueError("MUNIWATCH_SMTP_URL: starttls must be auto, require or never")
    implicit = parts.scheme == "smtps"
    try:
        port = parts.port or (465 if implicit else 25)
        timeout = float(query.get("timeout", DEFAULT_TIMEOUT_S))
    except ValueError as error:
        raise ValueError(f"MUNIWATCH_SMTP_URL: bad port or timeout ({error})") from None
    return SMTPOptions(
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        implicit_tls=implicit,
        starttls="never" if implicit else starttls,  # type: ignore[arg-type]
        verify=query.get("verify", "true").lower() not in {"false", "0", "no"},
        cafile=query.get("cafile"),
        timeout=timeout,
    )


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


class SMTPTransport:
    """One connection per run, opened on first use; after a connection-level failure the rest of
    the run's messages fail fast with the same reason instead of each waiting for a timeout."""

    def __init__(self, options: SMTPOptions) -> None:
        self.options = options
        self.description = options.description
        self._connection: smtplib.SMTP | None = None
        self._broken: TransientSendError | None = None

    def _tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.options.cafile)
        if not self.options.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def _connect(self) -> smtplib.SMTP:
        opts = self.options
        connection: smtplib.SMTP
        if opts.implicit_tls:
            connection = smtplib.SMTP_SSL(
                opts.host, opts.port, timeout=opts.timeout, context=self._tls_context()
            )
        else:
            connection = smtplib.SMTP(opts.host, opts.port, timeout=opts.timeout)
        try:
            connection.ehlo()
            if not opts.implicit_tls and opts.starttls != "never":
                if connection.has_extn("starttls"):
                    connection.starttls(context=self._tls_context())
                    connection.ehlo()
                elif opts.starttls == "require":
                    raise TransientSendError(
                        f"{self.description} does not offer STARTTLS but the URL says starttls=require"
                    )
            if opts.username:
                connection.login(opts.username, opts.password or "")
        except BaseException:
            connection.close()
            raise
        return connection

    def send(self, raw: bytes, *, sender: str, recipient: str, message_id: str) -> None:
        if self._broken is not None:
            raise TransientSendError(f"not tried: {self._broken.reason}")
        try:
            if self._connection is None:
                self._connection = self._connect()
            self._connection.sendmail(sender, [recipient], raw)
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            detail = "; ".join(
                f"{rcpt}: {code} {_text(text)}" for rcpt, (code, text) in error.recipients.items()
            )
            if codes and all(code >= 500 for code in codes):
                raise PermanentSendError(f"recipient refused: {detail}", code=codes[0]) from error
            raise TransientSendError(
                f"recipient deferred: {detail}", code=codes[0] if codes else None
            ) from error
        # UnicodeEncodeError at RCPT: no SMTPUTF8 path (see config). Not ValueError: a TLS
        # certificate error is one too (ssl.SSLCertVerificationError), and it is the server's fault.
        except UnicodeError as error:
            self._reset()
            raise PermanentSendError(
                f"the address {recipient!r} cannot be sent to over ASCII SMTP ({type(error).__name__}); "
                "correct it in the subscription"
            ) from error
        except smtplib.SMTPAuthenticationError as error:
            self._break(f"{self.description} refused the login: {error.smtp_code} {_text(error.smtp_error)}")
        except smtplib.SMTPSenderRefused as error:
            # Our From address is refused: a configuration problem, the same for every message.
            self._break(
                f"{self.description} refused the sender {sender!r} (MUNIWATCH_MAIL_FROM): "
                f"{error.smtp_code} {_text(error.smtp_error)}"
            )
        except smtplib.SMTPResponseException as error:
            reason = f"{self.description} answered {error.smtp_code} {_text(error.smtp_error)}"
            if error.smtp_code == 421:  # the server is closing the connection
                self._drop()
            if 500 <= error.smtp_code < 600:
                raise PermanentSendError(reason, code=error.smtp_code) from error
            raise TransientSendError(reason, code=error.smtp_code) from error
        except TransientSendError as error:
            self._break(error.reason)
        except (smtplib.SMTPException, OSError) as error:
            self._break(f"cannot reach {self.description}: {type(error).__name__}: {error}")

    def _break(self, reason: str) -> None:
        self._broken = TransientSendError(reason)
        self._drop()
        LOGGER.warning("SMTP unavailable for the rest of this run: %s", reason)
        raise self._broken

    def _reset(self) -> None:
        """Abort a half-sent transaction (MAIL FROM went out) so the next message starts clean."""
        if self._connection is not None:
            try:
                self._connection.rset()
            except (smtplib.SMTPException, OSError):
                self._drop()

    def _drop(self) -> None:
        if self._connection is not None:
            try:
                self._connection.quit()
            except (smtplib.SMTPException, OSError):
                self._connection.close()
            self._connection = None

    def close(self) -> None:
        self._drop()


class OutboxTransport:
    """``.eml`` files named after the Message-ID, written atomically: a resend overwrites the same file."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.description = f"outbox {folder}"

    def path_for(self, message_id: str) -> Path:
        name = _UNSAFE_FILENAME.sub("_", message_id.strip().strip("<>")) or "message"
        return self.folder / f"{name[:200]}.eml"

    def send(self, raw: bytes, *, sender: str, recipient: str, message_id: str) -> None:
        target = self.path_for(message_id)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            descriptor, temp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-", suffix=".eml")
            try:
                with os.fdopen(descriptor, "wb") as handle:
                    handle.write(raw)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(temp, target)
            except BaseException:
                Path(temp).unlink(missing_ok=True)
                raise
        except OSError as error:
            raise TransientSendError(f"cannot write {target}: {error}") from error

    def close(self) -> None:
        return None


def make_transport(settings: Settings) -> Transport:
    if settings.smtp_url:
        return SMTPTransport(parse_smtp_url(settings.smtp_url))
    return OutboxTransport(settings.outbox)
