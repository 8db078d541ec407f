"""TLS contexts per registry host: system trust (``SSL_CERT_FILE`` honoured by OpenSSL), plus ``--ca-cert``,
plus docker's ``certs.d/HOST/`` directories (``*.crt`` CAs, ``*.cert`` + ``*.key`` client certificates)."""

from __future__ import annotations

import ssl
from pathlib import Path

from sealer.errors import RegistryError
from sealer.registry.options import RegistryOptions


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


def ssl_context(host: str, options: RegistryOptions, verify: bool = True) -> ssl.SSLContext:
    ctx = ssl.create_default_context()  # OpenSSL's default paths honour SSL_CERT_FILE / SSL_CERT_DIR
    cas, clients = certs_dir_files(host, options)
    if options.ca_cert is not None:
        cas.append(options.ca_cert)
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
