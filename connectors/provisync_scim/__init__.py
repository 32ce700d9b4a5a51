"""The generic SCIM 2.0 outbound connector (RFC 7643, RFC 7644).

Registered through the ``provisync`` entry-point group (``provisync_scim.plugin``) exactly like
a third-party plugin; it imports only the SDK in :mod:`connectors` and libraries.
"""

from __future__ import annotations
