"""TLS contexts per registry host: system trust (``SSL_CERT_FILE`` honoured by OpenSSL), plus ``--ca-cert``,
plus docker's ``certs.d/HOST/`` directories (``*.crt`` CAs, ``*.cert`` + ``*.key`` client certificates).

Loading the system trust store costs tens of milliseconds, so a context is made only when a host is first
reached over HTTPS (never for a plain-HTTP loopback registry) and shared by every client of the process that
has the same trust configuration. :func:`speaks_tls` tells a TLS port from a plain-HTTP one without any trust
store: it decides the scheme only; everything sent afterwards over HTTPS is verified as configured."""

from __future__ import annotations

import socket
import ssl
import threading
from pathlib import Path
from urllib.parse import urlsplit

from sealer.errors import RegistryError
from sealer.registry.options import RegistryOptions

_CONTEXTS: dict[tuple[object, ...], ssl.SSLContext] = {}
_LOCK = threading.Lock()
_BARE: dict[str, ssl.SSLContext] = {}


def certs_dir_files(host: str, options: RegistryOptions) -> tuple[list[Path], list[tuple[Path, Path]]]:
    """CA files and (cert, key) client pairs configured for ``host``."""
    cas: list[Path] = []
    clients: list[tuple[Path, Path]] = []
    for base in options.certs_dirs:
        d = base / host
        if not d.is_dir():
            continue
        for f in sorted(d.iterdir()):
            if f.suffix == ".crt":
                cas.append(f)
            elif f.suffix == ".cert":
                key = f.with_suffix(".key")
                if not key.is_file():
                    raise RegistryError(f"load client certificate {f}: missing key {key}")
                clients.append((f, key))
    return cas, clients


def _file_key(p: Path) -> tuple[str, int, int]:
    try:
        st = p.stat()
        return str(p), st.st_mtime_ns, st.st_size
    except OSError:
        return str(p), -1, -1


def ssl_context(host: str, options: RegistryOptions, verify: bool = True) -> ssl.SSLContext:
    """The context for ``host``: one per distinct trust configuration per process (the system defaults OpenSSL
    would load, the CA and client files keyed by path, mtime and size, so a changed file gives a new context).
    Contexts are never modified after creation."""
    cas, clients = certs_dir_files(host, options)
    if options.ca_cert is not None:
        cas.append(options.ca_cert)
    system = ssl.get_default_verify_paths()  # what OpenSSL's defaults load (SSL_CERT_FILE / SSL_CERT_DIR)
    key = (verify, system.cafile and _file_key(Path(system.cafile)), system.capath,
           tuple(_file_key(c) for c in cas), tuple((_file_key(c), _file_key(k)) for c, k in clients))
    with _LOCK:
        ctx = _CONTEXTS.get(key)
        if ctx is None:
            ctx = _CONTEXTS[key] = _make(cas, clients, verify)
        return ctx


def _make(cas: list[Path], clients: list[tuple[Path, Path]], verify: bool) -> ssl.SSLContext:
    ctx = ssl.create_default_context()  # OpenSSL's default paths honour SSL_CERT_FILE / SSL_CERT_DIR
    for ca in cas:
        try:
            ctx.load_verify_locations(cafile=str(ca))
        except (OSError, ssl.SSLError) as e:
            raise RegistryError(f"load CA certificate {ca}: {e}") from None
    for cert, key in clients:
        try:
            ctx.load_cert_chain(str(cert), str(key))
        except (OSError, ssl.SSLError) as e:
            raise RegistryError(f"load client certificate {cert}: {e}") from None
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _shared(name: str, verify: bool) -> ssl.SSLContext:
    """A context that loads no trust store (cheap), made once per process."""
    with _LOCK:
        ctx = _BARE.get(name)
        if ctx is None:
            ctx = _BARE[name] = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            if not verify:
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
        return ctx


def no_trust_context() -> ssl.SSLContext:
    """A verifying context that trusts nothing, for connection pools meant for plain HTTP only: any TLS
    connection through it fails verification."""
    return _shared("no-trust", verify=True)


def speaks_tls(host: str, timeout: float) -> bool | None:
    """Whether ``host`` (``name[:port]``, port 443 by default) completes a TLS handshake: True, False when it
    answers with something else (a plain-HTTP server), None when it cannot be reached (the caller's usual
    connection handling and retries decide). Nothing is sent but the handshake."""
    try:
        u = urlsplit(f"//{host}")
        sock = socket.create_connection((u.hostname or host, u.port or 443), timeout=timeout)
    except (OSError, ValueError):
        return None
    try:
        with _shared("probe", verify=False).wrap_socket(sock, server_hostname=None, do_handshake_on_connect=False) as tls:
            tls.do_handshake()
        return True
    except ssl.SSLError as e:  # an alert is a TLS server refusing us (e.g. no client certificate): still TLS
        return "ALERT" in str(e.reason or "").upper()
    except OSError:
        return None
    finally:
        sock.close()
