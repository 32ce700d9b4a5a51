"""Errors a connector raises to tell the engine that a whole run cannot go on.

Expected failures of one entity (a 4xx, a SOAP validation fault) are not raised: they are
reported as a FAILED :class:`~provisync_sdk.types.EntityOutcome` with a reason. Only a failure of
the connection as a whole is raised, and it fails the run (rule status FAILED).
Messages must never contain a secret.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from provisync_sdk.types import EntityOutcome


UNCONFIRMED = "not confirmed: "
"""How the reason of an entity starts when a run failed as a whole before the target confirmed
its change (or before the run reached it): FAILED, queued for a retry, and neither SUCCESS nor
"no account" can be claimed, as the change may have landed with its answer lost."""


class ConnectorError(Exception):
    """Base of every error a connector raises on purpose."""

    code = "CONNECTOR_ERROR"


class RunFailure(ConnectorError):
    """The connection failed as a whole; the run stops and is marked FAILED.

    :param outcomes: what the connector did before the failure, for the entities it finished
        (an account created, then the target went away). The engine records them as if
        returned; every other entity of the call is recorded FAILED, its change not confirmed
        by the target, and queued for a retry. Raise with them, never drop them: an account
        created and not reported is an account provisync does not know it made.
    """

    code = "RUN_FAILED"

    def __init__(self, message: str = "", *, outcomes: Sequence[EntityOutcome] = ()) -> None:
        super().__init__(message)
        self.outcomes: list[EntityOutcome] = list(outcomes)

    def with_outcomes(self, outcomes: Sequence[EntityOutcome]) -> RunFailure:
        """Add ``outcomes`` (finished before this failure) to the ones it carries; ``self``."""
        self.outcomes = [*outcomes, *self.outcomes]
        return self


class TargetUnreachable(RunFailure):
    """The outside system does not answer (refused, DNS, timeouts after retries, 5xx storm)."""

    code = "TARGET_UNREACHABLE"


class AuthenticationFailed(RunFailure):
    """The outside system rejected the credentials (401, 403, a WS-Security fault)."""

    code = "AUTHENTICATION_FAILED"


class UnsupportedOperation(ConnectorError):
    """The connector type cannot do what was asked (e.g. read from an outbound-only target)."""

    code = "UNSUPPORTED_OPERATION"
