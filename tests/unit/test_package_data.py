"""What the package reads at run time ships with it: an installed muniwatch needs no checkout."""

from __future__ import annotations

import tomllib
from pathlib import Path, PurePosixPath

import pytest

import pipeline
from pipeline.search.kibana import KIBANA_DIR
from pipeline.settings import REPO_ROOT
from pipeline.store.indices import INDEX_NAMES, TEMPLATE_DIR

pytestmark = pytest.mark.unit

PACKAGE_DIR = Path(pipeline.__file__).resolve().parent


def _declared(path: Path) -> bool:
    globs = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    relative = PurePosixPath(path.relative_to(PACKAGE_DIR).as_posix())
    return any(relative.match(pattern) and len(relative.parts) == len(PurePosixPath(pattern).parts)
               for pattern in globs["pipeline"])  # fmt: skip


def test_index_templates_are_package_data() -> None:
    assert TEMPLATE_DIR.is_relative_to(PACKAGE_DIR)
    for name in INDEX_NAMES:
        template = TEMPLATE_DIR / f"{name}.json"
        assert template.is_file(), template
        assert _declared(template), f"{template} is not in [tool.setuptools.package-data]"


def test_kibana_saved_objects_are_package_data() -> None:
    assert KIBANA_DIR.is_relative_to(PACKAGE_DIR)
    files = sorted(KIBANA_DIR.glob("*.ndjson"))
    assert files
    for path in files:
        assert _declared(path), f"{path} is not in [tool.setuptools.package-data]"
