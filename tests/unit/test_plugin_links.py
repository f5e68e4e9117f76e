"""The "Open in Kibana" button points at what the indexing run produced."""

from __future__ import annotations

from types import SimpleNamespace
from urllib.parse import unquote

import pytest

from pipeline.enrich import EnrichReport
from pipeline.settings import Settings
from tests.e2e.conftest import configure_airflow_environment

configure_airflow_environment()  # before Airflow is imported

from muniwatch_links import REPORT_ATTRIBUTE, SETTINGS_ATTRIBUTE, KibanaLink, kibana_link  # noqa: E402

pytestmark = pytest.mark.unit


@pytest.fixture()
def kibana_settings(offline_settings: Settings) -> Settings:
    return offline_settings.with_overrides(kibana_url="http://kibana.test:5601")


def test_one_story_opens_that_story(kibana_settings: Settings) -> None:
    url = kibana_link(kibana_settings, EnrichReport(indexed=3, story_ids=["s-123"]))
    assert url.startswith("http://kibana.test:5601/app/discover")
    assert "s-123" in unquote(url)


def test_items_of_the_run_when_no_story_is_named(kibana_settings: Settings) -> None:
    url = unquote(kibana_link(kibana_settings, EnrichReport(indexed=2, item_ids=["aa11", "bb22"])))
    assert "aa11" in url and "bb22" in url


def test_nothing_named_opens_the_last_day_of_indexed_items(kibana_settings: Settings) -> None:
    url = unquote(kibana_link(kibana_settings, EnrichReport()))
    assert "status:indexed" in url and "now-24h" in url


def test_the_link_is_built_in_the_worker_from_what_the_task_left(kibana_settings: Settings) -> None:
    link = KibanaLink()
    assert link.name == "Open in Kibana"
    assert link.get_link(SimpleNamespace(), ti_key=None) == ""
    operator = SimpleNamespace(
        **{SETTINGS_ATTRIBUTE: kibana_settings, REPORT_ATTRIBUTE: EnrichReport(story_ids=["s-9"])}
    )
    assert "s-9" in unquote(link.get_link(operator, ti_key=None))
