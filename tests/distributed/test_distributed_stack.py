"""The distributed stack end to end, then its faults one at a time with the pipeline running.

Four feeds in four source groups on a loopback server → ``muniwatch_poll`` maps one task per group
over the two Celery workers → ``muniwatch_enrich`` → ``muniwatch_alerts`` → an SMTP server on
loopback. Each phase publishes one new article per feed and checks, from Elasticsearch and from
the SMTP server (not from logs), that every article is indexed once and every story mailed once:

1. both workers ran poll tasks (task instances' hostnames ``worker-1`` and ``worker-2``);
2. one Elasticsearch node SIGKILLed while ``enrich_and_index`` runs: the cluster goes yellow;
3. the Celery worker running ``enrich_and_index`` SIGKILLed: Airflow retries it on the other worker;
4. Redis restarted between runs: the next run proceeds;
5. Postgres restarted: the scheduler goes on without a manual step;
6. the scheduler alone SIGKILLed: its supervisor starts it again and the next run proceeds.

The phases build on each other (the counts are cumulative), so they run in file order.
"""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from pipeline.local import backing, cluster, distributed, processes
from pipeline.store.client import make_client
from tests.distributed.conftest import INDEX_PREFIX, VAR_DIR, Stack
from tests.support.builders import FeedItem, rss_feed
from tests.support.http import Route

pytestmark = pytest.mark.distributed

FIXTURE_PAGE = (
    Path(__file__).resolve().parents[1] / "fixtures" / "airflow" / "pages" / "fresno-ends-ice-contract.html"
)
FEEDS = ("north", "south", "east", "west")
# One California county per article: each article is its own story, so stories = articles.
COUNTIES = (
    "Kern",
    "Tulare",
    "Merced",
    "Madera",
    "Stanislaus",
    "Yolo",
    "Butte",
    "Shasta",
    "Placer",
    "Sonoma",
    "Napa",
    "Marin",
    "Solano",
    "Monterey",
    "Ventura",
    "Riverside",
    "Sutter",
    "Tehama",
    "Mendocino",
    "Humboldt",
    "Siskiyou",
    "Inyo",
    "Lassen",
    "Tuolumne",
)
# Pages answer slowly, so enrich_and_index runs long enough to be hit mid-task.
SLOW_PAGE_S = 3.0
WORDS = ("harbor", "budget", "orchard", "tunnel", "parade", "quarry", "museum", "ferry", "clinic", "mural")
PHASE_TIMEOUT_S = 420.0

_published: dict[str, list[FeedItem]] = {feed: [] for feed in FEEDS}


def _page(county: str, number: int) -> bytes:
    """The fixture article, moved to ``county``, with wording of its own (so it is its own story)."""
    filler = " ".join(WORDS[(number * 7 + i * 3) % len(WORDS)] + str(number * 100 + i) for i in range(80))
    text = (
        FIXTURE_PAGE.read_text(encoding="utf-8").replace("Fresno", county).replace("FRESNO", county.upper())
    )
    return text.replace("</article>", f"<p>{filler}</p><p>{filler[::-1]}</p></article>").encode()


def publish(stack: Stack, *, slow: bool = False) -> int:
    """One new article on every feed; returns how many articles exist now."""
    for feed in FEEDS:
        number = sum(len(items) for items in _published.values())
        county = COUNTIES[number]
        path = f"/news/{county.lower()}.html"
        stack.feeds.add(path, Route(body=_page(county, number), delay_s=SLOW_PAGE_S if slow else 0.0))
        title = f"{county} County supervisors vote to end ICE contract at county jail"
        _published[feed].append(FeedItem(title, stack.feeds.url(path)))
        stack.feeds.add(
            f"/feeds/{feed}.xml", body=rss_feed(_published[feed]), content_type="application/rss+xml"
        )
    return sum(len(items) for items in _published.values())


def write_config(stack: Stack) -> None:
    sources = [
        {
            "id": f"{feed}-courier",
            "kind": "rss",
            "url": stack.feeds.url(f"/feeds/{feed}.xml"),
            "home_state": "CA",
            "group": feed,
            "interval": "30s",
        }
        for feed in FEEDS
    ]
    watchlists = [{"id": "ice", "rules": ['"ICE contract"', "ICE AND (detainer OR jail OR contract)"]}]
    subscriptions = [
        {"id": "ca-desk", "email": "ca-desk@example.org", "mode": "immediate", "filter": {"states": ["CA"]}}
    ]
    for name, body in (("sources", sources), ("watchlists", watchlists), ("subscriptions", subscriptions)):
        (stack.config_dir / f"{name}.yaml").write_text(yaml.safe_dump({name: body}))


def indexed_stories(stack: Stack) -> tuple[int, set[str]]:
    """(relevant indexed items, their story ids) as Elasticsearch has them."""
    es = make_client(stack.settings.with_overrides(es_url=cluster.es_url(VAR_DIR), index_prefix=INDEX_PREFIX))
    try:
        index = f"{INDEX_PREFIX}-items"
        es.indices.refresh(index=index)
        hits = es.search(
            index=index,
            size=500,
            query={"bool": {"filter": [{"term": {"status": "indexed"}}, {"term": {"relevant": True}}]}},
            source_includes=["canonical_url", "story_id"],
        )["hits"]["hits"]
    finally:
        es.close()
    urls = [hit["_source"]["canonical_url"] for hit in hits]
    assert len(urls) == len(set(urls)), f"an article indexed twice: {Counter(urls).most_common(3)}"
    return len(hits), {hit["_source"]["story_id"] for hit in hits}


def mailed_stories(stack: Stack) -> list[str]:
    with stack.smtp.lock:
        return [str(message["X-Muniwatch-Story"]) for message in stack.smtp.messages]


def sent_deliveries(stack: Stack) -> list[str]:
    """Story ids of the deliveries Elasticsearch records as sent (one per subscription × story)."""
    es = make_client(stack.settings.with_overrides(es_url=cluster.es_url(VAR_DIR), index_prefix=INDEX_PREFIX))
    try:
        index = f"{INDEX_PREFIX}-deliveries"
        es.indices.refresh(index=index)
        hits = es.search(index=index, size=500, query={"term": {"status": "sent"}})["hits"]["hits"]
    finally:
        es.close()
    return [hit["_source"]["story_id"] for hit in hits]


def wait_until(what: str, check: Callable[[], bool], timeout: float = PHASE_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (httpx.HTTPError, OSError):
            pass  # a node or the API mid-restart: ask again
        time.sleep(1)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


PIPELINE_DAGS = ("muniwatch_poll", "muniwatch_enrich", "muniwatch_alerts", "muniwatch_maintenance")


def idle(stack: Stack, dags: tuple[str, ...] = PIPELINE_DAGS) -> bool:
    """No run of ``dags`` is queued or running (Redis holds none of their tasks)."""
    return all(run["state"] not in {"queued", "running"} for dag in dags for run in stack.api.runs(dag)[:3])


def assert_all_indexed_and_mailed_once(stack: Stack, articles: int) -> None:
    # A story that later merges into another keeps the e-mail it had: every story the items point
    # at now was mailed, and no story was mailed twice.
    def done() -> bool:
        count, stories = indexed_stories(stack)
        return count == articles and stories <= set(mailed_stories(stack))

    wait_until(f"{articles} articles indexed and mailed", done)
    # A duplicate would come from an enrich or alerts run still in flight (a retry, a second run):
    # let them end. A poll still in flight goes too: the articles may have come in through another
    # poll (the 5-minute schedule), and a poll left running would take the next phase's articles
    # before that phase is looking.
    wait_until("no DAG run in flight", lambda: idle(stack), timeout=300)
    count, stories = indexed_stories(stack)
    mailed = mailed_stories(stack)
    assert count == articles
    assert stories <= set(mailed)
    assert len(mailed) == len(set(mailed)), f"a story mailed twice: {Counter(mailed).most_common(3)}"
    assert sorted(sent_deliveries(stack)) == sorted(mailed)


def sources_due(stack: Stack) -> bool:
    """No poll run in flight and every feed polled 30 s (its interval) ago or more: a run triggered
    sooner skips the feeds as not due, and the new articles wait for the next 5-minute slot."""
    if not idle(stack, ("muniwatch_poll",)):
        return False
    es = make_client(stack.settings.with_overrides(es_url=cluster.es_url(VAR_DIR), index_prefix=INDEX_PREFIX))
    try:
        index = f"{INDEX_PREFIX}-sources"
        es.indices.refresh(index=index)
        hits = es.search(index=index, size=50, source_includes=["last_poll_at"])["hits"]["hits"]
    finally:
        es.close()
    polled = [hit["_source"].get("last_poll_at") for hit in hits]
    now = datetime.now(UTC)
    return all(not at or (now - datetime.fromisoformat(at)).total_seconds() > 31 for at in polled)


def trigger_poll(stack: Stack) -> None:
    wait_until("the feeds due for polling", lambda: sources_due(stack), timeout=120)
    stack.api.trigger("muniwatch_poll")


def poll_until_enrich_runs(stack: Stack) -> dict[str, Any]:
    """Trigger a poll once the feeds are due and return ``enrich_and_index``'s task instance while
    it runs. Whichever poll takes the new articles (this one or a scheduled one) starts the enrich
    run, so the task is looked for from the moment they are published, not only after the trigger."""
    found: dict[str, Any] = {}
    triggered: list[str] = []

    def running() -> bool:
        for run in stack.api.runs("muniwatch_enrich")[:2]:
            for ti in stack.api.task_instances("muniwatch_enrich", run["dag_run_id"]):
                if ti["task_id"] == "enrich_and_index" and ti["state"] == "running" and ti.get("hostname"):
                    found.update(ti)
                    return True
        if not triggered and sources_due(stack):
            triggered.append(stack.api.trigger("muniwatch_poll"))
        return False

    wait_until("muniwatch_enrich.enrich_and_index running", running, timeout=300)
    return found


def test_poll_fans_out_over_both_workers_and_every_story_is_mailed(stack: Stack) -> None:
    articles = publish(stack)
    write_config(stack)
    lines = distributed.up(
        stack.settings, config_dir=stack.config_dir, smtp_port=stack.smtp.port, index_prefix=INDEX_PREFIX
    )
    print("\n".join(lines))  # with the start-up's timings (pytest -rA shows them)
    trigger_poll(stack)
    assert_all_indexed_and_mailed_once(stack, articles)

    hosts = {
        ti["hostname"]
        for run in stack.api.runs("muniwatch_poll")
        for ti in stack.api.task_instances("muniwatch_poll", run["dag_run_id"])
        if ti["task_id"] == "poll_group" and ti["state"] == "success"
    }
    assert {"worker-1", "worker-2"} <= hosts


def test_an_elasticsearch_node_killed_mid_enrich_loses_and_doubles_nothing(stack: Stack) -> None:
    articles = publish(stack, slow=True)
    poll_until_enrich_runs(stack)
    victim = cluster.nodes(VAR_DIR)[0]  # the node the Airflow Connection names
    cluster.kill_node(victim)
    survivor = cluster.nodes(VAR_DIR)[1].url
    seen: list[object] = []

    def yellow_with_two_nodes() -> bool:
        health = cluster.health(survivor) or {}
        seen.append(health.get("status"))
        return health.get("number_of_nodes") == 2 and health.get("status") == "yellow"

    wait_until("a yellow cluster of two nodes", yellow_with_two_nodes, timeout=120)
    assert_all_indexed_and_mailed_once(stack, articles)


def test_a_worker_killed_mid_task_is_retried_on_the_other_worker(stack: Stack) -> None:
    articles = publish(stack, slow=True)
    victim = poll_until_enrich_runs(stack)
    processes = distributed.airflow_processes(VAR_DIR)
    killed = f"airflow-{victim['hostname']}"
    assert processes[killed].stop(signal.SIGKILL)
    assert_all_indexed_and_mailed_once(stack, articles)

    tries = stack.api.tries("muniwatch_enrich", victim["dag_run_id"], "enrich_and_index")
    final = max(tries, key=lambda ti: ti["try_number"])
    assert final["state"] == "success" and final["try_number"] >= 2
    assert final["hostname"] != victim["hostname"] and final["hostname"].startswith("worker-")
    env = distributed.airflow_environment(
        VAR_DIR, config_dir=stack.config_dir, smtp_port=stack.smtp.port, index_prefix=INDEX_PREFIX
    )
    processes[killed].start(distributed.service_environment(env, killed))


def test_after_a_redis_restart_the_next_run_proceeds(stack: Stack) -> None:
    # Between runs, as the fault is meant: a restart mid-run loses the queued messages of that run
    # (no persistence), which Airflow re-queues only after task_queued_timeout (180 s).
    wait_until("no DAG run in flight", lambda: idle(stack), timeout=300)
    redis = distributed.redis_process(VAR_DIR)
    assert redis.stop()
    env = distributed.airflow_environment(
        VAR_DIR, config_dir=stack.config_dir, smtp_port=stack.smtp.port, index_prefix=INDEX_PREFIX
    )
    redis.start(env)
    articles = publish(stack)
    trigger_poll(stack)
    assert_all_indexed_and_mailed_once(stack, articles)


def test_after_a_postgres_restart_the_scheduler_goes_on(stack: Stack) -> None:
    assert backing.postgres_down(VAR_DIR, restart=True)
    articles = publish(stack)
    trigger_poll(stack)
    assert_all_indexed_and_mailed_once(stack, articles)


def supervised_command(process: processes.Process) -> int | None:
    """The pid of the command a supervisor runs (the recorded pid is the supervisor's)."""
    supervisor = process.pid()
    for entry in Path("/proc").iterdir():
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if entry.name.isdigit() and parent == supervisor:
            return int(entry.name)
    return None


def test_a_scheduler_killed_alone_is_restarted_and_the_next_run_proceeds(stack: Stack) -> None:
    scheduler = distributed.airflow_processes(VAR_DIR)["airflow-scheduler"]
    victim = supervised_command(scheduler)
    assert victim is not None
    os.kill(victim, signal.SIGKILL)
    articles = publish(stack)
    trigger_poll(stack)
    assert_all_indexed_and_mailed_once(stack, articles)
    assert supervised_command(scheduler) not in {None, victim}
