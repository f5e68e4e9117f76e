"""Labelled items (fields as in ``shared/eval/*.jsonl``): reading them, and where the shared set lives.

The texts belong to their publishers: they are read from the shared folder at run time and never
copied into the project.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(kw_only=True)
class LabelledItem:
    id: str
    text: str
    url: str
    relevant: bool
    jurisdiction: str | None
    jurisdiction_type: str | None
    state: str | None
    stance: str | None
    event: str | None
    home_state: str | None = None
    title: str = ""
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> LabelledItem:
        return cls(
            id=str(obj["id"]),
            text=str(obj.get("text") or ""),
            url=str(obj.get("url") or ""),
            relevant=bool(obj.get("relevant")),
            jurisdiction=obj.get("jurisdiction"),
            jurisdiction_type=obj.get("jurisdiction_type"),
            state=obj.get("state"),
            stance=obj.get("stance"),
            event=obj.get("event"),
            home_state=obj.get("home_state"),
            title=str(obj.get("title") or ""),
            raw=dict(obj),
        )


def read_labelled(path: str | Path) -> list[LabelledItem]:
    """Parse a labelled JSONL file; a bad line raises ValueError naming the file and line."""
    items = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                items.append(LabelledItem.from_json(json.loads(line)))
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}:{number}: not a labelled item ({exc})") from exc
    return items


def read_all(paths: Iterable[str | Path]) -> list[LabelledItem]:
    items: list[LabelledItem] = []
    for path in paths:
        items.extend(read_labelled(path))
    return items


def file_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def eval_dir() -> Path | None:
    """The shared labelled folder: ``$MUNIWATCH_EVAL_DIR``, else ``../shared/eval``,
    ``../../shared/eval`` (from the repository) or ``/work/shared/eval``; None when none exists."""
    configured = os.environ.get("MUNIWATCH_EVAL_DIR")
    if configured:
        return Path(configured)
    for candidate in (
        REPO_ROOT.parent / "shared" / "eval",
        REPO_ROOT.parent.parent / "shared" / "eval",
        Path("/work/shared/eval"),
    ):
        if (candidate / "train.jsonl").is_file():
            return candidate
    return None
