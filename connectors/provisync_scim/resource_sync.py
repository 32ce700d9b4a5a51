"""What the user and the group sync share: settings, the target's features, the writer, the
finder, and whether this is a preview."""

from __future__ import annotations

from provisync_scim.discovery import TargetFeatures
from provisync_scim.lookup import Finder
from provisync_scim.settings import ScimSettings
from provisync_scim.writes import Resource, ResourceWriter


class ResourceSync:
    """Brings one kind of SCIM resource (at ``endpoint``) in line with its desired state."""

    def __init__(
        self,
        settings: ScimSettings,
        features: TargetFeatures,
        writer: ResourceWriter,
        finder: Finder,
        endpoint: str,
        *,
        dry_run: bool = False,
    ) -> None:
        self.settings = settings
        self.features = features
        self.writer = writer
        self.finder = finder
        self.endpoint = endpoint
        self.dry_run = dry_run
        """A preview: ``writer`` sends nothing, and the finder's snapshot must stay as read."""

    def _remember(self, resource: Resource) -> None:
        if not self.dry_run:
            self.finder.remember(resource)
