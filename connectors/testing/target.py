"""What a connector's test suite tells the conformance kit about its live target.

A third party returns a :class:`ConformanceTarget` from its ``conformance_target`` fixture.
Only ``connector_type`` and ``settings`` are required; every other field is optional, and a
scenario that needs a missing one is skipped with a reason naming the field.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from connectors.testing.truth import TargetReader

T = TypeVar("T")

SeedUsers = Callable[[Sequence[Mapping[str, Any]]], "Awaitable[None] | None"]
"""Put users (canonical attributes, ``userName`` always set) into the source system."""


@dataclass
class ConformanceTarget:
    """A live target (or source) for one connector type, and ways to look inside it.

    :param connector_type: the connector type name, as the plugin declares it (``jsonfile``).
    :param settings: the connection's settings, as stored by provisync (no secrets).
    :param secrets: the connection's secret settings; the kit checks none of their values
        ever appears in a reason or message.
    :param count_writes: how many writes the target has received so far; lets the kit check
        that a resync with nothing changed sends none.
    :param user_exists: whether the target holds an account with this ``userName``.
    :param user_active: whether the account with this ``userName`` is active (``None``: no
        such account).
    :param group_exists: whether the target holds a group with this display name.
    :param seed_users: put users into the source (inbound connectors); records are dicts of
        canonical attributes with at least ``userName``.
    :param change_user: change attributes of a seeded user (by ``userName``) at the source,
        so that an incremental read sees the change.
    :param rejected_user_name: a ``userName`` the target refuses (a validation error), to
        check that target errors come back as FAILED outcomes with reasons.
    :param rejected_write_back_user_name: a seeded user's ``userName`` whose write-back the
        source refuses.
    :param unreachable_settings: settings of the same type that point at nothing (a closed
        port, a missing directory) or carry rejected credentials.
    :param write_back_values: values the kit writes back, by canonical attribute, when the
        source is picky (``{"phone": "+1 555-0100"}``).
    :param timeout: seconds one connector call may take before the scenario fails.
    :param truth_reader: reads the target directly (a
        :class:`~connectors.testing.truth.TargetReader`); turns on the truth scenario, which
        checks the reported outcomes against what the target holds.
    """

    connector_type: str
    settings: Mapping[str, Any]
    secrets: Mapping[str, Any] = field(default_factory=dict)
    count_writes: Callable[[], int | Awaitable[int]] | None = None
    user_exists: Callable[[str], bool | Awaitable[bool]] | None = None
    user_active: Callable[[str], bool | Awaitable[bool | None] | None] | None = None
    group_exists: Callable[[str], bool | Awaitable[bool]] | None = None
    seed_users: SeedUsers | None = None
    change_user: Callable[[str, Mapping[str, Any]], Awaitable[None] | None] | None = None
    rejected_user_name: str | None = None
    rejected_write_back_user_name: str | None = None
    unreachable_settings: Mapping[str, Any] | None = None
    write_back_values: Mapping[str, Any] = field(default_factory=dict)
    timeout: float = 30.0
    truth_reader: TargetReader | None = None

    def secret_values(self) -> list[str]:
        """The secret strings that must never appear in what a connector reports."""
        return [str(v) for v in self.secrets.values() if v is not None and len(str(v)) >= 4]

    def user_values(self) -> list[str]:
        """Plain settings strings that may pair with a secret (``user:password``)."""
        return [v for v in self.settings.values() if isinstance(v, str) and len(v) <= 256]


async def maybe_await(value: T | Awaitable[T]) -> T:
    """The value of a callback that may be plain or a coroutine function."""
    if inspect.isawaitable(value):
        return await value  # type: ignore[no-any-return]
    return value
