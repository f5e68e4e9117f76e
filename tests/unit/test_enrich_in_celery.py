"""A task under the CeleryExecutor runs in a daemonic process, which may not start children:
enrich extracts in-process there instead of failing every try (seen in ``bench.distributed``)."""

from __future__ import annotations

import multiprocessing
from multiprocessing.queues import Queue

import pytest

from pipeline import enrich

pytestmark = pytest.mark.unit


def _pool_kind(answers: Queue[str]) -> None:
    with enrich._cpu_pool(pages=enrich.MIN_PAGES_FOR_PROCESSES * 4, processes=2) as pool:
        answers.put(type(pool).__name__)


def test_a_large_run_in_a_daemonic_process_extracts_without_a_process_pool() -> None:
    context = multiprocessing.get_context("fork")
    answers: Queue[str] = context.Queue()
    task = context.Process(target=_pool_kind, args=(answers,), daemon=True)
    task.start()
    task.join(60)
    assert answers.get(timeout=5) == "NoneType"
    assert task.exitcode == 0
