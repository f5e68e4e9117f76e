"""Kept texts and fetch politeness, through ``run_once`` and the ``muniwatch rematch`` command.

* A candidate whose full text matches no rule is kept; after a rule change ``muniwatch rematch``
  promotes it (tagged, clustered, indexed) without fetching its page again.
* A source's ``fetch_budget`` caps the pages fetched per run: the rest wait, counted, and the
  following runs take them, each page fetched once, the feed itself answered with 304.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from elasticsearch import Elasticsearch

from pipeline.cli import main
from pipeline.models import item_id
from pipeline.runner import run_once
from pipeline.settings import REPO_ROOT, Settings
from pipeline.sources.urls import canonical_url
from pipeline.tasks import ConfigPaths
from tests.support.builders import write_config
from tests.support.http import LoopbackHTTPServer
from tests.support.intake_corpus import ServedCorpus, load_fixture_items, serve

NOW = datetime(2025, 6, 12, 18, 0, tzinfo=UTC)


def _paths(tmp_path: Path, served: ServedCorpus, watchlists: Path | None = None) -> ConfigPaths:
    shipped = REPO_ROOT / "config" / "watchlists.yaml"
    return write_config(tmp_path, sources=served.sources, watchlists=watchlists or shipped)


def _doc(es: Elasticsearch, settings: Settings, server: LoopbackHTTPServer, path: str) -> dict[str, Any]:
    found = es.get(index=settings.index("items"), id=item_id(canonical_url(server.url(path))))
    return dict(found["_source"])


def test_rematch_promotes_kept_texts_that_match_changed_rules_without_fetching_again(
    settings: Settings,
    es: Elasticsearch,
    http_server: LoopbackHTTPServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    items = [i for i in load_fixture_items() if i.kind == "article"]
    served = serve(http_server, items, "title_only", feeds=1)  # a search feed: every entry fetched
    paths = _paths(tmp_path, served)
    first = run_once(settings, paths, now=NOW)
    assert first.ok, first.problems
    clinic, rink = served.page_paths["fx-10"], served.page_paths["fx-08"]
    assert _doc(es, settings, http_server, clinic)["status"] == "unmatched"
    assert _doc(es, settings, http_server, rink)["status"] == "unmatched"

    # The desk now wants legal clinics too.
    shipped = yaml.safe_load((REPO_ROOT / "config" / "watchlists.yaml").read_text())
    shipped["watchlists"].append({"id": "clinics", "rules": ['"free clinic" OR "legal clinic"']})
    changed = tmp_path / "watchlists.yaml"
    changed.write_text(yaml.safe_dump(shipped))
    monkeypatch.setenv("MUNIWATCH_ES_URL", settings.es_url)
    monkeypatch.setenv("MUNIWATCH_INDEX_PREFIX", settings.index_prefix)
    arguments = ["--sources", str(paths.sources), "--watchlists", str(changed),
                 "--subscriptions", str(paths.subscriptions)]  # fmt: skip

    assert main(["rematch", "--dry-run", "--json", *arguments]) == 0
    dry = json.loads(capsys.readouterr().out)
    assert (dry["scanned"], dry["promoted"]) == (3, 1)
    assert _doc(es, settings, http_server, clinic)["status"] == "unmatched", "a dry run changes nothing"

    assert main(["rematch", *arguments]) == 0
    assert "promoted: 1" in capsys.readouterr().out
    promoted = _doc(es, settings, http_server, clinic)
    assert promoted["status"] == "indexed" and promoted["tagger_version"] and promoted["story_id"]
    assert promoted["matched_rules"] == ['clinics: "free clinic" OR "legal clinic"']
    assert promoted["alert_status"] == "pending", "the next alerts run sees it"
    assert es.exists(index=settings.index("stories"), id=promoted["story_id"])
    assert _doc(es, settings, http_server, rink)["status"] == "unmatched"
    assert len(http_server.seen(clinic)) == 1, "rematch fetched the page again"


def test_fetch_budget_defers_the_rest_to_later_runs_and_each_page_is_fetched_once(
    settings: Settings, es: Elasticsearch, http_server: LoopbackHTTPServer, tmp_path: Path
) -> None:
    items = [i for i in load_fixture_items() if i.kind == "article"][:5]
    served = serve(http_server, items, "title_only", feeds=1)
    served.sources[0]["fetch_budget"] = 2
    paths = _paths(tmp_path, served)
    source_id = served.sources[0]["id"]
    feed = served.sources[0]["url"].removeprefix(http_server.base_url)

    waiting = []
    for run in range(3):
        summary = run_once(settings, paths, now=NOW + timedelta(minutes=20 * run))
        assert summary.ok, summary.problems
        row = summary.sources[source_id]
        assert row.indexed + row.kept == (2 if run < 2 else 1)
        waiting.append(row.waiting)
        es.indices.refresh(index=settings.index("sources"))
        health = es.get(index=settings.index("sources"), id=source_id)["_source"]
        assert health["waiting_last_enrich"] == row.waiting and health["fetched_last_enrich"] == (
            2 if run < 2 else 1
        )
    assert waiting == [3, 1, 0]
    assert [len(http_server.seen(path)) for path in served.page_paths.values()] == [1] * 5
    assert [r.status for r in http_server.seen(feed)] == [200, 304, 304], (
        "feeds are polled with conditional GET"
    )
