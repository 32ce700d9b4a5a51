"""The truth check: do the stored states say what the target really holds?

Plain data in, plain data out, so the backend's tests, the benchmarks and the conformance kit
(for third-party plugins) share it. The host side gives the stored states
(:class:`StoredEntity`) and the rule's tallies; a :class:`TargetReader` reads what the target
holds (:class:`TargetAccount`). :func:`check_truth` lists every disagreement with DESIGN.md's
truth rules; :func:`assert_truth` fails with that list.

Attributes are canonical (see :data:`provisync_sdk.USER_ATTRIBUTES`); a desired value that is
``None`` or ``""`` means the attribute must be absent at the target.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from provisync_sdk.errors import UNCONFIRMED
from provisync_sdk.types import EntityKind, EntityState

Same = Callable[[str, Any, Any], bool]
"""Whether a desired value and a target value of one attribute are the same."""

CASE_INSENSITIVE = frozenset({"userName", "email"})


@dataclass(frozen=True, slots=True)
class StoredEntity:
    """One impacted entity as the host stored it.

    :param key: the source's key (directory id).
    :param name: the match key: userName for users, displayName for groups.
    :param desired: users: the desired canonical attributes (every managed one, empty ones
        included); groups: ignored.
    :param members: groups: the source keys of the users who should be members.
    :param queued: whether the entity waits in the host's retry queue; ``None`` when the host
        has no queue or did not say.
    """

    kind: EntityKind
    key: str
    name: str
    state: EntityState
    reason: str | None = None
    target_id: str | None = None
    desired: Mapping[str, Any] = field(default_factory=dict)
    members: frozenset[str] = frozenset()
    queued: bool | None = None

    @property
    def unconfirmed(self) -> bool:
        """FAILED because its run failed as a whole before the target confirmed its change."""
        return self.state is EntityState.FAILED and (self.reason or "").startswith(UNCONFIRMED)


@dataclass(frozen=True, slots=True)
class TargetAccount:
    """One account or group as the target holds it.

    :param name: userName (users) or displayName (groups).
    :param attributes: users: canonical attributes read from the target.
    :param members: groups: the target ids of the members.
    """

    id: str
    name: str
    attributes: Mapping[str, Any] = field(default_factory=dict)
    members: frozenset[str] = frozenset()


class TargetReader(Protocol):
    """Reads everything the target holds, bypassing the connector under test."""

    def users(self) -> Awaitable[Sequence[TargetAccount]]: ...

    def groups(self) -> Awaitable[Sequence[TargetAccount]]: ...


@dataclass(frozen=True, slots=True)
class Disagreement:
    """One way the stored states and the target disagree."""

    kind: EntityKind | None
    key: str | None
    name: str
    problem: str

    def __str__(self) -> str:
        kind = self.kind.value.lower() if self.kind else "rule"
        if not self.name:  # about the rule's tallies, not one entity
            return f"{kind} {self.problem}"
        return f"{kind} {self.name!r}: {self.problem}"


@dataclass(frozen=True, slots=True)
class TruthReport:
    entities: int
    disagreements: tuple[Disagreement, ...]

    @property
    def disagreeing(self) -> int:
        """How many stored entities disagree with the target (each counted once)."""
        return len({(d.kind, d.key) for d in self.disagreements if d.key is not None})

    @property
    def agree_ratio(self) -> float:
        """The share of entities whose stored state agrees with the target."""
        if not self.entities:
            return 1.0
        return (self.entities - self.disagreeing) / self.entities

    def by_problem(self) -> Counter[str]:
        """Disagreements counted by problem, names, values and counts blanked (for reports)."""
        return Counter(
            re.sub(r"'[^']*'|\bNone\b|\b\d+\b", "_", d.problem.split(":", 1)[0])
            for d in self.disagreements
        )

    def describe(self, limit: int = 40) -> str:
        lines = [str(d) for d in self.disagreements[:limit]]
        if len(self.disagreements) > limit:
            lines.append(f"... and {len(self.disagreements) - limit} more")
        return "\n".join(lines)


def default_same(attribute: str, desired: Any, held: Any) -> bool:
    """Blank is absent; names and emails compare case-insensitively; ``active`` as a bool."""

    def norm(value: Any) -> Any:
        if attribute == "active":
            return True if value is None else bool(value)
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        text = str(value).strip()
        return text.lower() if attribute in CASE_INSENSITIVE else text

    return bool(norm(desired) == norm(held))


def _duplicates(
    kind: EntityKind, accounts: Iterable[TargetAccount], keys: Mapping[str, str]
) -> list[Disagreement]:
    """Names held by more than one account; ``keys`` names the stored entity of a name."""
    names = Counter(a.name.strip().lower() for a in accounts)
    return [
        Disagreement(kind, keys.get(name), name, f"duplicate accounts at the target: {count}")
        for name, count in sorted(names.items())
        if count > 1
    ]


def check_truth(
    stored: Sequence[StoredEntity],
    users: Sequence[TargetAccount],
    groups: Sequence[TargetAccount],
    *,
    tallies: Mapping[EntityKind, Mapping[EntityState, int]] | None = None,
    impacted: Mapping[EntityKind, Mapping[str, str]] | None = None,
    same: Same = default_same,
) -> TruthReport:
    """Compare stored states with what the target holds; see the module docstring.

    :param tallies: the rule's summary counts per kind and state, checked against ``stored``.
    :param impacted: the keys (with names) the source says are in the rule's scope, per kind;
        each must have a stored state (an impacted entity is in exactly one state).
    """
    found: list[Disagreement] = []
    entities = len(stored)
    for kind, names in (impacted or {}).items():
        known = {e.key for e in stored if e.kind is kind}
        for key, name in sorted(names.items()):
            if key not in known:
                entities += 1
                found.append(Disagreement(kind, key, name, "impacted but no stored state"))
    user_by_id = {a.id: a for a in users}
    user_by_name = {a.name.strip().lower(): a for a in users}
    group_by_id = {a.id: a for a in groups}
    group_by_name = {a.name.strip().lower(): a for a in groups}
    accounts = {
        EntityKind.USER: (user_by_id, user_by_name),
        EntityKind.GROUP: (group_by_id, group_by_name),
    }

    def account_of(entity: StoredEntity) -> TargetAccount | None:
        by_id, by_name = accounts[entity.kind]
        held = by_id.get(entity.target_id or "")
        return held if held is not None else by_name.get(entity.name.strip().lower())

    user_account = {e.key: account_of(e) for e in stored if e.kind is EntityKind.USER}
    for entity in stored:

        def say(problem: str, entity: StoredEntity = entity) -> None:
            found.append(Disagreement(entity.kind, entity.key, entity.name, problem))

        held = account_of(entity)
        if entity.state in (EntityState.FAILED, EntityState.PARTIAL) and not entity.reason:
            say(f"{entity.state.value} without a reason")
        if entity.state is EntityState.UNSYNCED and held is not None:
            say(f"UNSYNCED but the target holds an account: {held.id}")
        if entity.state is EntityState.FAILED and entity.queued is False:
            say("FAILED but not queued for a retry")
        if (
            entity.state is EntityState.FAILED
            and held is not None
            and entity.kind is EntityKind.USER
            # A change in flight when the run failed may have landed with its answer lost:
            # "not confirmed, retry queued" is the truth whatever the target holds.
            and not entity.unconfirmed
        ):
            if all(same(a, v, held.attributes.get(a)) for a, v in entity.desired.items()):
                say("FAILED but the target holds the account with every desired value")
        if entity.state is not EntityState.SUCCESS:
            continue
        if held is None:
            say("SUCCESS but no account at the target")
            continue
        if entity.target_id and entity.target_id != held.id:
            say(f"SUCCESS with target id {entity.target_id}, but the account is {held.id}")
        if entity.kind is EntityKind.USER:
            for attribute, value in sorted(entity.desired.items()):
                target_value = held.attributes.get(attribute)
                if not same(attribute, value, target_value):
                    say(f"SUCCESS but {attribute} is {target_value!r} at the target, not {value!r}")
            continue
        if held.name.strip() != entity.name.strip():
            say(f"SUCCESS but the target group is named {held.name!r}")
        wanted: set[str] = set()
        for member in sorted(entity.members):
            account = user_account.get(member)
            if account is None:
                say(f"SUCCESS but member {member} has no account at the target")
            else:
                wanted.add(account.id)
        dead = sorted(m for m in held.members if m not in user_by_id)
        if dead:
            say(f"SUCCESS but members are not existing accounts: {', '.join(dead[:5])}")
        missing = sorted(wanted - held.members)
        extra = sorted(held.members - wanted - set(dead))
        if missing:
            say(f"SUCCESS but {len(missing)} desired member(s) missing at the target")
        if extra:
            say(f"SUCCESS but {len(extra)} member(s) at the target that should not be")
    for kind, listed in ((EntityKind.USER, users), (EntityKind.GROUP, groups)):
        keys = {e.name.strip().lower(): e.key for e in stored if e.kind is kind}
        found += _duplicates(kind, listed, keys)
    for kind, counts in (tallies or {}).items():
        actual = Counter(e.state for e in stored if e.kind is kind)
        for state in EntityState:
            if counts.get(state, 0) != actual.get(state, 0):
                said, states = counts.get(state, 0), actual.get(state, 0)
                found.append(
                    Disagreement(
                        kind, None, "", f"tallies say {said} {state.value}, states {states}"
                    )
                )
    return TruthReport(entities, tuple(found))


async def read_and_check(
    stored: Sequence[StoredEntity],
    reader: TargetReader,
    **options: Any,
) -> TruthReport:
    """Read the target with ``reader``, then :func:`check_truth`."""
    return check_truth(stored, await reader.users(), await reader.groups(), **options)


def assert_truth(report: TruthReport) -> None:
    """Fail with every disagreement listed when the stored states are not the truth."""
    assert not report.disagreements, (
        f"{len(report.disagreements)} disagreement(s) between stored states and the target "
        f"(agree_ratio {report.agree_ratio:.3f}):\n{report.describe()}"
    )
