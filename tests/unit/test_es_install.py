"""Choosing a Java runtime able to run Elasticsearch 9.5, with errors that say what to install."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.local import es_install

pytestmark = pytest.mark.unit


def _java_home(root: Path, name: str, version: str, modules: str) -> Path:
    home = root / name
    (home / "bin").mkdir(parents=True)
    (home / "bin" / "java").write_text("#!/bin/sh\n")
    (home / "release").write_text(f'JAVA_VERSION="{version}"\nMODULES="{modules}"\n')
    return home


FULL = "java.base java.desktop jdk.attach jdk.jdi jdk.jlink jdk.net"


def test_a_trimmed_runtime_is_passed_over_for_a_full_jdk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trimmed = _java_home(tmp_path, "trimmed", "25.0.2", "java.base java.desktop jdk.attach jdk.net")
    full = _java_home(tmp_path, "full", "21.0.5", FULL)
    monkeypatch.setattr(es_install, "_java_candidates", lambda: iter([trimmed, full]))
    assert es_install.find_java() == full


def test_without_a_usable_java_the_error_says_what_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = _java_home(tmp_path, "old", "17.0.9", FULL)
    trimmed = _java_home(tmp_path, "trimmed", "25", "java.base java.desktop jdk.attach jdk.net")
    monkeypatch.setattr(es_install, "_java_candidates", lambda: iter([old, trimmed]))
    with pytest.raises(es_install.LocalESError) as error:
        es_install.find_java()
    message = str(error.value)
    assert "Java 17" in message and "lacks jdk.jdi, jdk.jlink" in message
    assert "ES_JAVA_HOME" in message


def test_es_java_home_is_tried_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    chosen = _java_home(tmp_path, "chosen", "25", FULL)
    monkeypatch.setenv("ES_JAVA_HOME", str(chosen))
    assert next(es_install._java_candidates()) == chosen
    assert es_install.find_java() == chosen
