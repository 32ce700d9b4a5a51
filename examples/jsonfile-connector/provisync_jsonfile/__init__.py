"""provisync-jsonfile: an example connector plugin for a directory kept as one JSON file."""

from __future__ import annotations

__version__ = "0.1.0"
