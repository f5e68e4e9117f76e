"""Where the real published records to test source readers with live (never copied into the repo).

``$MUNIWATCH_SOURCES_DIR`` first (``.ci/run`` sets it), else ``shared/sources`` beside the checkout,
beside the worktrees' folder, or at the project machines' ``/work/shared``. Tests that need a record
skip when none is found, as on a user's machine.
"""

from __future__ import annotations

import os
from pathlib import Path

from pipeline.settings import REPO_ROOT


def shared_sources_dir() -> Path | None:
    configured = os.environ.get("MUNIWATCH_SOURCES_DIR")
    candidates = [Path(configured)] if configured else []
    candidates += [
        REPO_ROOT.parent / "shared" / "sources",
        REPO_ROOT.parent.parent / "shared" / "sources",
        Path("/work/shared/sources"),
    ]
    return next((path for path in candidates if path.is_dir()), None)


# ICE's 287(g) workbooks (eight versions, May-July 2025).
ICE_287G = (shared_sources_dir() or Path("/nonexistent")) / "ice-287g"
