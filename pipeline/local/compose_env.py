"""``python -m pipeline.local.compose_env > .env``: ``.env.example`` with fresh secrets.

Every value ``GENERATED`` in ``.env.example`` gets a new random one: the Fernet key in the format
Fernet needs, the others as URL-safe tokens (long enough for Kibana's 32-character minimum).
"""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

from pipeline.local.services import generate_secrets
from pipeline.settings import REPO_ROOT

PLACEHOLDER = "GENERATED"


def filled(example: str) -> str:
    generated = generate_secrets()
    lines = []
    for line in example.splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.lstrip().startswith("#") and value == PLACEHOLDER:
            value = generated.get(key) or secrets.token_urlsafe(32)
            line = f"{key}={value}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def main(example: Path = REPO_ROOT / ".env.example") -> int:
    sys.stdout.write(filled(example.read_text(encoding="utf-8")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
