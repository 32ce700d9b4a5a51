"""provisync's standard connector scenarios, run against a real JSON file."""

from __future__ import annotations

from provisync_sdk.testing import ConnectorConformance


class TestJsonFileConformance(ConnectorConformance):
    """Every scenario of the kit; those that do not apply say which capability is missing."""
