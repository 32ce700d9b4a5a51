"""Where target text enters the store: outcomes, write-backs and run errors are scrubbed.

Every text a connector reports comes, one way or another, from the target, which may echo
the credentials it received. The engine passes it through the connection's
:class:`connectors.redaction.Scrubber` before anything is stored, published or logged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from connectors import EntityOutcome, WriteBackOutcome
from connectors.redaction import Scrubber
from gql.observability.logs import remember_secrets
from gql.security.crypto import SecretsUnreadable, decrypt_secrets
from gql.store.models import ProvisioningConnection


def scrubber_for(connection: ProvisioningConnection | None) -> Scrubber:
    """The scrubber of a connection: its secrets, paired with its plain settings values."""
    if connection is None:
        return Scrubber()
    try:
        secrets = decrypt_secrets(connection.secrets or {})
    except SecretsUnreadable:
        secrets = {}
    values = [value for value in secrets.values() if isinstance(value, str)]
    users = [
        value
        for value in (connection.settings or {}).values()
        if isinstance(value, str) and len(value) <= 256
    ]
    remember_secrets(values)  # log lines are scrubbed of them too, whoever logs them
    return Scrubber(values, users)


def scrub_outcomes(scrub: Scrubber, outcomes: Sequence[EntityOutcome]) -> list[EntityOutcome]:
    """Outcomes with their reasons and differing values scrubbed."""
    out: list[EntityOutcome] = []
    for outcome in outcomes:
        differences = [
            replace(d, source_value=scrub(d.source_value), target_value=scrub(d.target_value))
            for d in outcome.differences or ()
        ]
        out.append(
            replace(
                outcome,
                reason=scrub(outcome.reason),
                differences=tuple(differences),
            )
        )
    return out


def scrub_write_backs(
    scrub: Scrubber, outcomes: Sequence[WriteBackOutcome]
) -> list[WriteBackOutcome]:
    return [replace(outcome, reason=scrub(outcome.reason)) for outcome in outcomes]


__all__ = ["scrub_outcomes", "scrub_write_backs", "scrubber_for"]
