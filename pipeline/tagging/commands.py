"""Command bodies for ``muniwatch tag`` and ``muniwatch eval`` (the CLI wires them; no argparse here)."""

from __future__ import annotations

import json
import logging
import re
import sys
from dataclasses import replace
from typing import Any, TextIO

from pipeline.limits import TAGGED_TEXT_CHARS, cap_text
from pipeline.tagging.tagger import tag_item
from pipeline.tagging.types import TagInput

LOGGER = logging.getLogger(__name__)
# A lone surrogate ("\ud800" in the input JSON) cannot be written as UTF-8: it is shown as U+FFFD.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _parse_line(line: str) -> TagInput:
    obj: Any = json.loads(line)
    if not isinstance(obj, dict):
        raise ValueError("expected a JSON object")
    if "id" not in obj or not isinstance(obj["id"], (str, int)):
        raise ValueError("missing field 'id' (string)")
    if not isinstance(obj.get("text"), str):
        raise ValueError("missing field 'text' (string)")
    for name in ("title", "url", "home_state", "language"):
        if obj.get(name) is not None and not isinstance(obj[name], str):
            raise ValueError(f"field '{name}' must be a string")
    return TagInput(
        id=str(obj["id"]),
        title=obj.get("title") or "",
        text=obj["text"],
        url=obj.get("url") or "",
        home_state=obj.get("home_state"),
        language=obj.get("language"),
    )


def run_tag(input_stream: TextIO, output_stream: TextIO, error_stream: TextIO | None = None) -> int:
    """Tag JSON Lines ({id, title?, text, url?, home_state?}) into JSON Lines per DESIGN "Tag output".

    A bad line is reported on stderr with its line number and counted; the others are still tagged.
    Returns 0 when every line was tagged, 1 otherwise.
    """
    errors = error_stream if error_stream is not None else sys.stderr
    failed = tagged = 0
    for number, line in enumerate(input_stream, start=1):
        if not line.strip():
            continue
        try:
            item = _parse_line(line)
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            failed += 1
            print(f"muniwatch tag: line {number}: {exc}", file=errors)
            continue
        capped = cap_text(item.text, TAGGED_TEXT_CHARS)
        try:
            out = tag_item(replace(item, text=capped.text)).to_json_dict()
        except Exception as exc:  # one line fails alone (pipeline.failures); the rest are tagged
            failed += 1
            print(f"muniwatch tag: line {number}: {type(exc).__name__}: {exc}", file=errors)
            continue
        if capped.truncated:
            out["text_truncated"] = True
            out["text_original_chars"] = capped.original_chars
        line_out = json.dumps(out, ensure_ascii=False)
        output_stream.write(_LONE_SURROGATE.sub("\ufffd", line_out) + "\n")
        tagged += 1
    if failed:
        print(f"muniwatch tag: {tagged} tagged, {failed} failed", file=errors)
    return 1 if failed else 0


def run_eval(
    paths: list[str] | None,
    as_json: bool,
    output_stream: TextIO,
    error_stream: TextIO | None = None,
    *,
    train: str | None = None,
    errors: bool = False,
    system: str = "learned",
    folds: int | None = None,
    cross_validate: bool = True,
) -> int:
    """Compare the learned tagger, the rules and a bag-of-words baseline: k-fold CV on the training
    file and plain scores on ``paths`` (default: dev.jsonl + seeds.jsonl beside the training file)."""
    from pipeline.tagging.compare import compare, default_paths
    from pipeline.tagging.crossval import FOLDS, format_comparison, format_errors

    errors_to = error_stream if error_stream is not None else sys.stderr
    try:
        train_path, check_paths = default_paths(train, paths)
        comparison = compare(
            train_path,
            check_paths,
            k=folds or FOLDS,
            cross_validate=cross_validate,
            explain=errors,
        )
    except (OSError, ValueError) as exc:
        print(f"muniwatch eval: {exc}", file=errors_to)
        return 2
    if as_json:
        output_stream.write(
            json.dumps(comparison.to_json_dict(errors=errors), ensure_ascii=False, indent=2) + "\n"
        )
    else:
        output_stream.write(format_comparison(comparison) + "\n")
        if errors:
            output_stream.write(format_errors(comparison, system) + "\n")
    return 0
