"""Errors a connector raises to tell the engine that a whole run cannot go on.

Expected failures of one entity (a 4xx, a SOAP validation fault) are not raised: they are
reported as a FAILED :class:`~provisync_sdk.types.EntityOutcome` with a reason. Only a failure of
the connection as a whole is raised, and it fails the run (rule status FAILED).
Messages must never contain a secret.
"""

from __future__ import annotations


class ConnectorError(Exception):
    """Base of every error a connector raises on purpose."""

    code = "CONNECTOR_ERROR"


class RunFailure(ConnectorError):
    """The connection failed as a whole; the run stops and is marked FAILED."""

    code = "RUN_FAILED"


class TargetUnreachable(RunFailure):
    """The outside system does not answer (refused, DNS, timeouts after retries, 5xx storm)."""

    code = "TARGET_UNREACHABLE"


class AuthenticationFailed(RunFailure):
    """The outside system rejected the credentials (401, 403, a WS-Security fault)."""

    code = "AUTHENTICATION_FAILED"


class UnsupportedOperation(ConnectorError):
    """The connector type cannot do what was asked (e.g. read from an outbound-only target)."""

    code = "UNSUPPORTED_OPERATION"
