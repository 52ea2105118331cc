"""TLS for the mail servers: certificate and host name always verified."""

from __future__ import annotations

import ssl


def tls_context(ca_file: str | None) -> ssl.SSLContext:
    """The system's CAs, plus `ca_file` (PEM) for a mail server with a private CA."""
    context = ssl.create_default_context()
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    return context
