"""How heavy real news pages are, against the benchmark's generated pages (``python -m bench.reference``).

The throughput ratio the benchmark reports (full pipeline / trafilatura alone) depends on how much
work trafilatura has per page: on a page lighter than real ones, everything the pipeline adds
weighs more. So the corpus is calibrated against real published news pages: the article pages
that newspaper4k ships as test data in its source distribution (CNN, Time, Wired, Fox 13,
cleveland.com, AP and a dozen non-English sites, MIT licensed package). The archive is fetched
from PyPI with pip, checked against its SHA-256, and read at run time only; none of its pages is
copied into this project.

For both sets it reports quartiles and means of the HTML size, the number of elements lxml
parses, and trafilatura's CPU time per page with the options ``pipeline.fetch.extract`` uses (one
process, after a warm-up), and writes them to ``bench/results/reference.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import Any

from pipeline.settings import REPO_ROOT

PACKAGE = "newspaper4k==0.9.6"
ARCHIVE = "newspaper4k-0.9.6.tar.gz"
ARCHIVE_SHA256 = "a3f2f0e017dddb6f1019ee77aaa8980e13e6ecea0b949abc7167aae4770d2d0e"
PAGES_DIR = "newspaper4k-0.9.6/tests/data/html/"
# Test pages that are not a news article: a section front, a redirect stub, an RSS listing.
NOT_ARTICLES = ("cnn_main_site.html", "wired_main_site.html", "yahoo_main_site.html",
                "google_meta_refresh.html", "sample_rss.html")  # fmt: skip
CACHE_DIR = REPO_ROOT / "var" / "bench-reference"
RESULT_PATH = REPO_ROOT / "bench" / "results" / "reference.json"


class ReferenceUnavailable(RuntimeError):
    """The reference pages could not be fetched or failed their checksum."""


def reference_pages(cache_dir: Path = CACHE_DIR) -> dict[str, bytes]:
    """The real article pages by file name, downloading the pinned sdist once into ``cache_dir``."""
    archive = cache_dir / ARCHIVE
    if not archive.exists():
        cache_dir.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
                   PACKAGE, "--dest", str(cache_dir)]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=300)
        if done.returncode != 0 or not archive.exists():
            raise ReferenceUnavailable(f"pip could not download {PACKAGE}: {done.stderr.strip()[-400:]}")
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    if digest != ARCHIVE_SHA256:
        raise ReferenceUnavailable(f"{archive}: SHA-256 {digest} is not the pinned {ARCHIVE_SHA256}")
    pages: dict[str, bytes] = {}
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            name = member.name.removeprefix(PAGES_DIR)
            if member.isfile() and member.name.startswith(PAGES_DIR) and name not in NOT_ARTICLES:
                handle = tar.extractfile(member)
                if handle is not None and name.endswith(".html"):
                    pages[name] = handle.read()
    return pages


def page_weights(bodies: list[bytes]) -> dict[str, Any]:
    """Quartiles and mean of size, element count and trafilatura CPU time over ``bodies``."""
    import lxml.html
    import trafilatura

    from bench.measure import EXTRACT_OPTIONS

    trafilatura.bare_extraction(bodies[0], url="https://example.com/a", **EXTRACT_OPTIONS)  # load lazy data
    kilobytes: list[float] = []
    elements: list[float] = []
    milliseconds: list[float] = []
    for body in bodies:
        kilobytes.append(len(body) / 1024)
        elements.append(sum(1 for _ in lxml.html.fromstring(body).iter()))
        started = time.process_time()
        trafilatura.bare_extraction(body, url="https://example.com/a", **EXTRACT_OPTIONS)
        milliseconds.append((time.process_time() - started) * 1000)
    return {"pages": len(bodies), "kb": _spread(kilobytes), "elements": _spread(elements),
            "extract_ms": _spread(milliseconds)}  # fmt: skip


def _spread(values: list[float]) -> dict[str, float]:
    q1, median, q3 = statistics.quantiles(values, n=4)
    return {"q1": round(q1, 1), "median": round(median, 1), "q3": round(q3, 1),
            "mean": round(statistics.fmean(values), 1)}  # fmt: skip


def compare(corpus_pages: int = 300) -> dict[str, Any]:
    from bench.corpus import build_pages

    real = page_weights(list(reference_pages().values()))
    generated = page_weights([page.body for page in build_pages(corpus_pages)])
    return {"reference": {"source": f"{PACKAGE} sdist, tests/data/html (article pages)", **real},
            "corpus": {"source": f"bench.corpus.build_pages({corpus_pages})", **generated}}  # fmt: skip


def format_table(result: dict[str, Any]) -> str:
    lines = [f"{'':24}{'q1':>9}{'median':>9}{'q3':>9}{'mean':>9}"]
    for key, label in (("kb", "HTML KB"), ("elements", "elements"), ("extract_ms", "trafilatura ms")):
        for side in ("reference", "corpus"):
            row = result[side][key]
            lines.append(
                f"{label + ' ' + side:24}" + "".join(f"{row[k]:>9}" for k in ("q1", "median", "q3", "mean"))
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reference", description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=300, help="generated pages to compare (default 300)")
    args = parser.parse_args(argv)
    try:
        result = compare(args.pages)
    except ReferenceUnavailable as error:
        print(f"bench.reference: {error}", file=sys.stderr)
        return 2
    RESULT_PATH.parent.mkdir(parents=True, exist_ok=True)
    RESULT_PATH.write_text(json.dumps(result, indent=2) + "\n")
    print(format_table(result))
    print(f"written to {RESULT_PATH.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
