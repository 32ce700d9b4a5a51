"""``python -m provisync``: the ``provisync`` command."""

from __future__ import annotations

import sys

from provisync.cli import main

sys.exit(main())
