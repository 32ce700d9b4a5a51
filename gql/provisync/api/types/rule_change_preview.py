"""RuleChangePreview: what a rule change would do, answered by updateRule(dryRun: true)."""

from __future__ import annotations

import strawberry

from provisync.api.types.controls import ActionCount, PreviewItemNode
from provisync.api.types.enums import SyncAction
from provisync.api.types.sync_run import SyncRun
from provisync.engine.dry_run import ChangePreview


@strawberry.type
class ActionEntities:
    action: SyncAction  # type: ignore[valid-type]
    items: list[PreviewItemNode] = strawberry.field(
        description="The first entities of this action, with their differences."
    )


@strawberry.type(
    description="What the change would do (computed as a preview is); the rule is not saved."
)
class RuleChangePreview:
    run: SyncRun = strawberry.field(description="The preview run; page its previewItems.")
    counts: list[ActionCount]
    held: int = strawberry.field(
        description="Disables and deletes deletion protection would hold (among the counts)."
    )
    first: list[ActionEntities]

    @classmethod
    def of(cls, found: ChangePreview) -> RuleChangePreview:
        return cls(
            run=SyncRun.from_row(found.run),
            counts=[ActionCount(action=a, count=n) for a, n in sorted(found.counts.items())],  # type: ignore[arg-type]
            held=found.held,
            first=[
                ActionEntities(action=a, items=[PreviewItemNode.from_row(i) for i in items])  # type: ignore[arg-type]
                for a, items in sorted(found.first.items())
            ],
        )
