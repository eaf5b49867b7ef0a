"""HTTPS for the fake: a local certificate authority kept on disk, and server TLS contexts.

Why: the vendor's sample clients hard-code ``https://`` and change only the domain, so a fake
that speaks plain HTTP cannot be reached without editing the vendor's code.  bgmock creates
one CA per user (``tls_dir``, by default ``$XDG_DATA_HOME/bgmock``), keeps it, and issues
from it a server certificate for ``localhost``, ``127.0.0.1``, ``::1`` and ``tls_hosts`` (and,
for the proxy mode, one per intercepted host).  The client trusts the CA once
(``bgmock ca``) and every later run works.

No X.509 is written here: ``trustme`` makes the CA and the leaf certificates, and reloads a
kept CA (``trustme.CA.from_pem``); ``cryptography`` writes the Java trust store
(``pkcs12.serialize_java_truststore``).

On disk (the directory 0700 when bgmock creates it):
  ``ca-key.pem``      the CA's private key and certificate, 0600; created once, atomically
                      (two processes starting together end up with the same CA);
  ``ca.pem``          the CA certificate alone: what clients trust (``bgmock ca`` prints it);
  ``truststore.p12``  the same for Java (``bgmock ca --java``), password ``bgmock`` (it holds
                      a public certificate only, so the password protects nothing).
Leaf keys live in memory (or, for granian, in the run's temporary directory) and die with it.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import socket
import ssl
import stat
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import Config, ConfigError
from ..textfile import NotUtf8Error, decode_text, wide_encoding
from ..transport import drop_connection

if TYPE_CHECKING:
    import trustme

log = logging.getLogger("bgmock")

CA_KEY = "ca-key.pem"
CA_CERT = "ca.pem"
TRUSTSTORE = "truststore.p12"
TRUSTSTORE_PASSWORD = "bgmock"
#: Names every server certificate is valid for.
LOCAL_NAMES = ("localhost", "127.0.0.1", "::1")
_TLS_HANDSHAKE = 0x16  # the first byte of a TLS record carrying a ClientHello
_CONTEXTS_KEPT = 256  # server contexts an Authority caches: the proxy's hosts are a fixed, small set


# -- where the CA lives -------------------------------------------------------------------------
def default_dir() -> Path:
    """The user's data directory for bgmock: ``$XDG_DATA_HOME/bgmock``, ``~/.local/share/bgmock``
    (``%LOCALAPPDATA%\\bgmock`` on Windows)."""
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "bgmock"
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "bgmock"


def ca_dir(config: Config | None = None) -> Path:
    """Where the CA is kept for these settings (``tls_dir``, else ``default_dir()``)."""
    given = config.tls_dir if config is not None else None
    return Path(given).expanduser() if given else default_dir()


class Authority:
    """The kept CA of one directory: loaded (or created once), and the leaf certificates it issues.

    Leaf certificates are cached per set of names: the proxy issues one per intercepted host,
    and a TLS context per host is built once.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.key_path = directory / CA_KEY
        self.cert_path = directory / CA_CERT
        self.ca = self._load_or_create()
        self._contexts: dict[tuple[str, ...], ssl.SSLContext] = {}
        self._lock = threading.Lock()

    def _load_or_create(self) -> trustme.CA:
        import trustme

        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise self._failed("cannot create it", exc) from None
        if not self.key_path.exists():
            ca = trustme.CA(organization_name="bgmock local CA", organization_unit_name="bgmock")
            blob = ca.private_key_pem.bytes() + ca.cert_pem.bytes()
            # Write aside, then link into place: os.link fails if another process won the race,
            # and then its CA (already complete on disk) is the one everybody uses.
            fd, tmp = tempfile.mkstemp(prefix=".ca-key-", dir=self.directory)
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(blob)
                with contextlib.suppress(FileExistsError):
                    os.link(tmp, self.key_path)
            except OSError as exc:
                raise self._failed("cannot write the CA", exc) from None
            finally:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
        ca = self._read_key_file()
        cert = ca.cert_pem.bytes()
        try:
            if not self.cert_path.exists() or self.cert_path.read_bytes() != cert:
                _write_atomic(self.cert_path, cert, 0o644)
        except OSError as exc:
            raise self._failed(f"cannot write {CA_CERT}", exc) from None
        return ca

    def _failed(self, what: str, exc: OSError) -> ConfigError:
        return ConfigError(f"CA directory {self.directory} (--tls-dir): {what} ({exc.strerror or exc})")

    def _read_key_file(self) -> trustme.CA:
        import trustme

        path = self.key_path
        try:
            mode = path.stat().st_mode
            blob = path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read the CA key {path}: {exc.strerror or exc}") from None
        if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigError(f"the CA key {path} is open to other users (mode {stat.S_IMODE(mode):o}): chmod 600 it")
        key, cert = _pem_block(blob, b"PRIVATE KEY"), _pem_block(blob, b"CERTIFICATE")
        if key is None or cert is None:
            raise ConfigError(f"{path} is not a bgmock CA (a PEM key and certificate): delete it to make a new CA")
        try:
            return trustme.CA.from_pem(cert, key)
        except ValueError as exc:
            raise ConfigError(f"{path} is not a readable CA ({exc}): delete it to make a new CA") from None

    def context(self, names: Iterable[str]) -> ssl.SSLContext:
        """A server TLS context with a certificate for ``names`` signed by this CA (cached)."""
        key = tuple(dict.fromkeys(n.lower() for n in names))
        with self._lock:
            found = self._contexts.get(key)
            if found is None:
                found = new_server_context()
                self.ca.issue_cert(*key, common_name=key[0]).configure_cert(found)
                if len(self._contexts) < _CONTEXTS_KEPT:
                    self._contexts[key] = found
        return found

    def write_leaf(self, names: Iterable[str], directory: Path) -> tuple[Path, Path]:
        """A leaf certificate and key as files in ``directory`` (for servers that take paths: granian)."""
        leaf = self.ca.issue_cert(*dict.fromkeys(names))
        cert, key = directory / "tls-cert.pem", directory / "tls-key.pem"
        _write_atomic(cert, b"".join(blob.bytes() for blob in leaf.cert_chain_pems), 0o644)
        _write_atomic(key, leaf.private_key_pem.bytes(), 0o600)
        return cert, key

    def java_truststore(self) -> Path:
        """``truststore.p12``: the CA as a trusted certificate entry Java's KeyStore reads."""
        from cryptography import x509
        from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12

        cert = x509.load_pem_x509_certificate(self.ca.cert_pem.bytes())
        blob = pkcs12.serialize_java_truststore(
            [pkcs12.PKCS12Certificate(cert, b"bgmock-ca")], BestAvailableEncryption(TRUSTSTORE_PASSWORD.encode())
        )
        path = self.directory / TRUSTSTORE
        _write_atomic(path, blob, 0o644)
        return path


_AUTHORITIES: dict[Path, Authority] = {}
_AUTHORITIES_LOCK = threading.Lock()


def authority(config: Config | None = None) -> Authority:
    """The CA for these settings, loaded once per process (raises ConfigError)."""
    directory = ca_dir(config).resolve()
    with _AUTHORITIES_LOCK:
        found = _AUTHORITIES.get(directory)
        if found is None or not found.key_path.exists():  # deleted meanwhile: make a new one
            found = _AUTHORITIES[directory] = Authority(directory)
    return found


def ca_path(config: Config | None = None) -> Path:
    """Path of the CA certificate (PEM) clients trust, the CA created if there is none yet."""
    return authority(config).cert_path


# -- the server's certificate ------------------------------------------------------------------
def server_names(config: Config) -> list[str]:
    """What the server certificate is valid for: the local names, ``tls_hosts``, and the bind
    address when it is a specific one."""
    names = [*LOCAL_NAMES, *config.tls_hosts]
    with contextlib.suppress(ValueError):
        if not ipaddress.ip_address(config.host).is_unspecified:
            names.append(config.host)
    return list(dict.fromkeys(n.lower() for n in names))


def new_server_context() -> ssl.SSLContext:
    """TLS 1.2 and up, the library's default ciphers; HTTP/1.1 offered by ALPN."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["http/1.1"])
    return context


def user_pair(config: Config) -> tuple[Path, Path] | None:
    """``tls_cert``/``tls_key`` when given, checked: both, existing, a key that matches the cert."""
    if not config.tls_cert and not config.tls_key:
        return None
    if not config.tls_cert or not config.tls_key:
        given, missing = ("--tls-cert", "--tls-key") if config.tls_cert else ("--tls-key", "--tls-cert")
        raise ConfigError(f"{given} needs {missing} too (a certificate and its private key, PEM files)")
    cert, key = Path(config.tls_cert).expanduser(), Path(config.tls_key).expanduser()
    for flag, path in (("--tls-cert", cert), ("--tls-key", key)):
        if not path.is_file():
            raise ConfigError(f"{flag} {path}: no such file")
    try:
        new_server_context().load_cert_chain(cert, key)
    except ssl.SSLError as exc:
        _refuse_wide_text((("--tls-cert", cert), ("--tls-key", key)))
        why = "does not match the certificate" if "KEY_VALUES_MISMATCH" in str(exc) or "mismatch" in str(exc) \
            else "is not a PEM certificate and private key pair"
        raise ConfigError(f"--tls-key {key}: {why} (--tls-cert {cert})") from None
    except OSError as exc:
        raise ConfigError(f"--tls-cert {cert}: cannot read it ({exc.strerror or exc})") from None
    return cert, key


def _refuse_wide_text(files: Iterable[tuple[str, Path]]) -> None:
    """A PEM file saved as UTF-16 or UTF-32 (PowerShell 5's ``>``), said as such (textfile.py):
    OpenSSL only calls it unreadable. Other bytes are left to OpenSSL's verdict (a DER file is
    not UTF-8 either, and "save it as UTF-8" would mislead)."""
    for flag, path in files:
        with contextlib.suppress(OSError):
            data = path.read_bytes()
            if wide_encoding(data):
                try:
                    decode_text(data, f"{flag} {path}", fix="save it as UTF-8 (PEM is plain ASCII)")
                except NotUtf8Error as exc:
                    raise ConfigError(str(exc)) from None


_USER_CONTEXTS: dict[tuple[Path, Path, float, float], ssl.SSLContext] = {}


def server_context(config: Config) -> ssl.SSLContext:
    """The TLS context the fake serves HTTPS with: the user's pair, or a leaf from the kept CA."""
    pair = user_pair(config)
    if pair is None:
        return authority(config).context(server_names(config))
    stamp = (*pair, pair[0].stat().st_mtime, pair[1].stat().st_mtime)
    found = _USER_CONTEXTS.get(stamp)
    if found is None:
        found = new_server_context()
        found.load_cert_chain(*pair)
        _USER_CONTEXTS[stamp] = found
    return found


def server_files(config: Config, directory: Path) -> tuple[Path, Path]:
    """Certificate and key files for a server that takes paths (granian): the user's pair, or a
    leaf from the kept CA written into ``directory`` (the run's private temporary directory)."""
    return user_pair(config) or authority(config).write_leaf(server_names(config), directory)


def check(config: Config) -> None:
    """Stop at start-up, with a message, on TLS settings that cannot work or would be ignored
    (raises ConfigError): each names the setting it needs, as ``--tls-port`` without ``--tls``."""
    for given, needed, message in (
        (config.tls_port is not None, config.tls, "--tls-port: give --tls too (HTTPS on that port, HTTP on --port)"),
        (bool(config.intercept_hosts), config.proxy,
         "--intercept: give --proxy too (the hosts its proxy answers for; without it, there is no proxy)"),
        (bool(config.tls_cert or config.tls_key), config.tls,
         f"{'--tls-cert' if config.tls_cert else '--tls-key'}: give --tls too (the certificate HTTPS is served with)"),
    ):
        if given and not needed:
            raise ConfigError(message)
    if config.tls or config.proxy or config.tls_cert or config.tls_key:
        user_pair(config)
    if config.tls or config.proxy:
        authority(config)  # the CA exists from now on: `bgmock ca` shows the same one


# -- accepting a connection -------------------------------------------------------------------
class Gate:
    """Decides, per accepted connection, whether it speaks TLS, and shakes hands if so.

    It runs in the connection's own thread (a slow or silent client delays nobody's accept):
    peek at the first byte; a TLS handshake record is wrapped with ``context()``, anything
    else is plain HTTP, served when ``plain`` allows it and otherwise answered with a JSON
    400 that says to use https (nginx answers the same mistake the same way).
    """

    def __init__(self, context: Callable[[], ssl.SSLContext], *, plain: bool) -> None:
        self.context = context
        self.plain = plain

    def accept(self, handler: Any, timeout: float, refusal: Callable[[int, str], bytes]) -> bool:
        """Make ``handler`` serve this connection over TLS when the client speaks it; whether
        to go on (False: the connection is to be closed, the client was answered if it could be)."""
        sock: socket.socket = handler.connection
        try:
            sock.settimeout(timeout)
            first = sock.recv(1, socket.MSG_PEEK)
        except OSError:
            return False
        if not first:
            return False
        if first[0] != _TLS_HANDSHAKE:
            if self.plain:
                sock.settimeout(handler.server.options.idle_timeout)  # what the request reader expects
                return True
            body = refusal(400, "plain HTTP sent to the fake's HTTPS port: use an https:// URL")
            with contextlib.suppress(OSError):
                sock.sendall(
                    b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nConnection: close\r\n"
                    + f"Content-Length: {len(body)}\r\n\r\n".encode("ascii") + body
                )
            handler._linger()  # the request is unread: closing now could reset the answer away
            return False
        return secure(handler, self.context, timeout)


def secure(handler: Any, context: Callable[[], ssl.SSLContext], timeout: float) -> bool:
    """Wrap ``handler``'s connection in TLS (server side) and hand it the wrapped socket."""
    try:
        ctx = context()
    except (ConfigError, OSError, ssl.SSLError) as exc:  # a setting changed under a live fake
        log.warning("bgmock: cannot serve TLS: %s", exc)
        return False
    wrapped = ctx.wrap_socket(handler.connection, server_side=True, do_handshake_on_connect=False)
    handler.use(wrapped)  # from here the server owns (and closes) the wrapped socket
    try:
        wrapped.settimeout(timeout)
        wrapped.do_handshake()
    except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError: a client that does not trust the CA
        log.info("bgmock: TLS handshake with %s failed: %s", handler.client_address[0], _reason(exc))
        return False
    wrapped.settimeout(handler.server.options.idle_timeout)  # what the request reader expects
    return True


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or str(exc)
    if "UNKNOWN_CA" in str(reason) or "CERTIFICATE_UNKNOWN" in str(reason):
        return f"{reason} (the client does not trust bgmock's CA: see `bgmock ca --help`)"
    if "UNEXPECTED_EOF" in str(reason):  # Node, for one, hangs up on a certificate it does not trust
        return (f"{reason} (the client hung up during the handshake; a client that does not trust "
                "bgmock's CA may say so only on its own side: see `bgmock ca --help`)")
    return str(reason)


def close(sock: socket.socket) -> None:
    """End a TLS connection politely: send close_notify, without waiting for the client's, so
    a client reading an answer of unknown length sees a clean end (not a truncation attack)."""
    if isinstance(sock, ssl.SSLSocket):
        drop_connection(sock, reset=False)


# -- small helpers ---------------------------------------------------------------------------
def _pem_block(blob: bytes, kind: bytes) -> bytes | None:
    """The first PEM block whose label ends with ``kind`` (``PRIVATE KEY`` covers EC/RSA keys)."""
    start = 0
    while True:
        begin = blob.find(b"-----BEGIN ", start)
        if begin < 0:
            return None
        label_end = blob.find(b"-----", begin + 11)
        label = blob[begin + 11 : label_end]
        end_marker = b"-----END " + label + b"-----"
        end = blob.find(end_marker, label_end)
        if label_end < 0 or end < 0:
            return None
        if label.endswith(kind):
            return blob[begin : end + len(end_marker)] + b"\n"
        start = end + len(end_marker)


def _write_atomic(path: Path, data: bytes, mode: int) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


__all__ = [
    "Authority", "Gate", "authority", "ca_dir", "ca_path", "check", "close", "default_dir", "secure",
    "server_context", "server_files", "server_names", "user_pair",
]
