"""The typed per-request GraphQL context: services, DataLoaders and the caller."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeAlias

from strawberry.dataloader import DataLoader
from strawberry.types import Info as StrawberryInfo

from gql.loaders import load_connections, load_rule_counts, load_rules
from gql.services import Services
from gql.store.models import ProvisioningConnection, Rule, RuleCounts


@dataclass
class Context:
    services: Services
    actor: str = "anonymous"
    request: Any = None
    response: Any = None
    rule_counts: DataLoader[int, dict[str, RuleCounts]] = field(init=False)
    connections: DataLoader[int, ProvisioningConnection | None] = field(init=False)
    rules: DataLoader[int, Rule | None] = field(init=False)

    def __post_init__(self) -> None:
        db = self.services.db
        self.rule_counts = DataLoader(partial(load_rule_counts, db), cache=True)
        self.connections = DataLoader(partial(load_connections, db))
        self.rules = DataLoader(partial(load_rules, db))

    @property
    def db(self) -> Any:
        return self.services.db

    def page_size(self, first: int | None) -> int:
        limit = self.services.settings.max_page_size
        if first is None:
            return min(20, limit)
        if first < 0:
            raise ValueError("first must not be negative")
        if first > limit:
            raise ValueError(f"first must be at most {limit}")
        return first


Info: TypeAlias = StrawberryInfo[Context, None]
