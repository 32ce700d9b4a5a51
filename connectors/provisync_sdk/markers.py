"""The pluggy markers shared by the host and every connector plugin."""

from __future__ import annotations

import pluggy

NAME = "provisync"
"""The project name: the pluggy marker name and the entry-point group of plugins."""

hookspec = pluggy.HookspecMarker(NAME)
hookimpl = pluggy.HookimplMarker(NAME)
