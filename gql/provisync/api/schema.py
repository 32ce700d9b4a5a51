"""The Strawberry schema: queries, mutations, the progress subscription, and safe defaults."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry import relay
from strawberry.extensions import (
    AddValidationRules,
    MaskErrors,
    MaxTokensLimiter,
    ParserCache,
    ValidationCache,
)
from strawberry.extensions.base_extension import SchemaExtension
from strawberry.schema.config import StrawberryConfig

from provisync.api.context import Context, Info
from provisync.api.mutations import connections, controls, directory, rules, sync, webhooks
from provisync.api.security.document_limits import alias_limit_rule, depth_limit_rule
from provisync.api.security.guards import require
from provisync.api.security.limits import CallerRequired, HideSuggestions
from provisync.api.security.limits import validation_rules as security_rules
from provisync.api.types.common import node_pk, valid_pk
from provisync.api.types.connection import ProvisioningConnectionConnection, list_connections
from provisync.api.types.connector_type import ConnectorType
from provisync.api.types.directory_group import DirectoryGroupConnection, list_groups
from provisync.api.types.directory_user import DirectoryUserConnection, list_users
from provisync.api.types.errors import Error, NotFoundError
from provisync.api.types.explain import explain_entity
from provisync.api.types.mapping_tester import test_attribute_mappings
from provisync.api.types.rule import Rule, RuleConnection, list_rules
from provisync.api.types.sync_run import SyncRun
from provisync.api.types.viewer import Viewer, viewer_of
from provisync.api.types.webhook import WebhookSubscriptionConnection, list_webhook_subscriptions
from provisync.engine.progress import FINAL_STATUSES
from provisync.security.roles import Role
from provisync.settings import Settings, get_settings
from provisync.store.models import SyncRun as RunRow


@strawberry.type
class Query:
    @strawberry.field(description="Any object by its global id; null when it does not exist.")
    async def node(self, info: Info, id: relay.GlobalID) -> relay.Node | None:
        # A plain resolver rather than relay.node(): the schema is built more than once per
        # process (module-level and per app), and relay.node() may only be applied once.
        if valid_pk(id.node_id) is None:
            return None  # every node has an integer key a database can hold
        try:
            return await id.resolve_node(info, required=False)  # type: ignore[no-any-return]
        except (ValueError, KeyError):
            return None

    @strawberry.field
    async def rules(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> RuleConnection:
        return await list_rules(info, first, after)

    @strawberry.field
    async def rule(self, info: Info, id: relay.GlobalID) -> Rule | None:
        pk = node_pk(id, "Rule")
        if isinstance(pk, NotFoundError):
            return None
        row = await info.context.rules.load(pk)
        return Rule.from_row(row) if row else None

    @strawberry.field
    async def provisioning_connections(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> ProvisioningConnectionConnection:
        return await list_connections(info, first, after)

    @strawberry.field(description="Registered connector plugins, with their settings schema.")
    def connector_types(self, info: Info) -> list[ConnectorType]:
        return [
            ConnectorType.from_registered(r) for r in info.context.services.registry.all_types()
        ]

    @strawberry.field(description="Plugins that failed to load or were refused, one line each.")
    def plugin_problems(self, info: Info) -> list[str]:
        return list(info.context.services.registry.problems)

    @strawberry.field(description="Who is calling, with the role the API sees.")
    def viewer(self, info: Info) -> Viewer:
        return viewer_of(info)

    @strawberry.field
    async def directory_users(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> DirectoryUserConnection:
        return await list_users(info, first, after)

    explain_entity = strawberry.field(
        resolver=explain_entity,
        description="Why one user or group of a rule is where it is, and what the next sync "
        "would do; nothing is written (the target is only read).",
    )
    test_attribute_mappings = strawberry.field(
        resolver=test_attribute_mappings,
        description="What mappings give for one user, per target attribute; touches no target.",
    )

    @strawberry.field
    async def directory_groups(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> DirectoryGroupConnection:
        return await list_groups(info, first, after)

    @strawberry.field(description="Webhook subscriptions (admins only).")
    async def webhook_subscriptions(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> WebhookSubscriptionConnection:
        return await list_webhook_subscriptions(info, first, after)


@strawberry.type
class Mutation:
    full_resync = strawberry.mutation(
        resolver=sync.full_resync,
        description="Resync every entity of a rule now; returns the run (the one already in "
        "progress, if any), to follow with syncRunProgress.",
    )
    set_rule_enabled = strawberry.mutation(
        resolver=sync.set_rule_enabled,
        description="Enable or disable a rule. Enabling starts a full resync at once.",
    )
    test_provisioning_connection = strawberry.mutation(resolver=sync.test_provisioning_connection)
    create_rule = strawberry.mutation(
        resolver=rules.create_rule,
        description="Create a rule. Created enabled, it starts a full resync at once.",
    )
    update_rule = strawberry.mutation(resolver=rules.update_rule)
    delete_rule = strawberry.mutation(resolver=rules.delete_rule)
    create_provisioning_connection = strawberry.mutation(
        resolver=connections.create_provisioning_connection
    )
    update_provisioning_connection = strawberry.mutation(
        resolver=connections.update_provisioning_connection,
        description="Change a connection. settings replaces all non-secret settings; "
        "settingsPatch changes only the ones it names. Secrets not named keep their value.",
    )
    delete_provisioning_connection = strawberry.mutation(
        resolver=connections.delete_provisioning_connection
    )
    create_directory_user = strawberry.mutation(resolver=directory.create_directory_user)
    update_directory_user = strawberry.mutation(resolver=directory.update_directory_user)
    delete_directory_user = strawberry.mutation(resolver=directory.delete_directory_user)
    create_directory_group = strawberry.mutation(resolver=directory.create_directory_group)
    update_directory_group = strawberry.mutation(resolver=directory.update_directory_group)
    delete_directory_group = strawberry.mutation(resolver=directory.delete_directory_group)
    preview_full_resync = strawberry.mutation(resolver=controls.preview_full_resync)
    provision_on_demand = strawberry.mutation(resolver=controls.provision_on_demand)
    release_held_operations = strawberry.mutation(resolver=controls.release_held_operations)
    discard_held_operations = strawberry.mutation(resolver=controls.discard_held_operations)
    create_webhook_subscription = strawberry.mutation(resolver=webhooks.create_webhook_subscription)
    update_webhook_subscription = strawberry.mutation(resolver=webhooks.update_webhook_subscription)
    delete_webhook_subscription = strawberry.mutation(resolver=webhooks.delete_webhook_subscription)


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="The run at once, then at each progress step; completes after its final state."
    )
    async def sync_run_progress(
        self, info: Info, run_id: relay.GlobalID
    ) -> AsyncGenerator[SyncRun, None]:
        require(info, Role.VIEWER)
        pk = node_pk(run_id, "SyncRun")
        if isinstance(pk, NotFoundError):
            raise GraphQLError(pk.message, extensions={"code": pk.code})
        services = info.context.services
        async with services.hub.listen(pk) as queue:
            async with services.db.session() as session:
                row = await session.get(RunRow, pk)
            if row is None:
                raise GraphQLError(f"no SyncRun with id {run_id}", extensions={"code": "NOT_FOUND"})
            yield SyncRun.from_row(row)
            last = (row.status, row.processed, row.total)
            while row.status not in FINAL_STATUSES:
                row = await queue.get()
                if (row.status, row.processed, row.total) != last:
                    last = (row.status, row.processed, row.total)
                    yield SyncRun.from_row(row)


class RequestSession(SchemaExtension):
    """Closes the request's read session when the operation ends."""

    async def on_operation(self) -> AsyncIterator[None]:  # type: ignore[override]
        yield
        context = self.execution_context.context
        if isinstance(context, Context):
            await context.close()


def _should_mask(error: GraphQLError) -> bool:
    # GraphQL's own errors (validation, bad ids, limits) speak to the caller; anything a
    # resolver raised unexpectedly is masked.
    original = error.original_error
    return original is not None and not isinstance(original, (GraphQLError, ValueError))


def build_schema(settings: Settings | None = None) -> strawberry.Schema:
    """The schema with caches and limits on, their validation rules built once."""
    settings = settings or get_settings()
    rules_once = [
        # Our own depth and alias rules: Strawberry's are exponential in fragment chains.
        depth_limit_rule(settings.query_max_depth),
        alias_limit_rule(settings.query_max_aliases),
        *security_rules(settings),
    ]
    extensions: list[Any] = [
        lambda: MaxTokensLimiter(max_token_count=settings.query_max_tokens),
        lambda: ParserCache(maxsize=256),
        lambda: ValidationCache(maxsize=256),
        lambda: AddValidationRules(rules_once),
        lambda: MaskErrors(should_mask_error=_should_mask),
        CallerRequired,
        lambda: HideSuggestions(always=not settings.introspection),
        RequestSession,
    ]
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[Error],
        extensions=extensions,
        config=StrawberryConfig(relay_max_results=settings.max_page_size),
    )


schema = build_schema()
