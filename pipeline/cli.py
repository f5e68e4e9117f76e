"""The ``muniwatch`` command. Each subcommand parses its arguments here and hands them to the
module that owns the step. Those modules are imported only when their subcommand runs (see
``HANDLERS``), so ``muniwatch tag`` starts fast and loads neither the Elasticsearch client nor
the HTTP stack."""

from __future__ import annotations

import argparse
import importlib
import logging
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from pipeline import config as config_module
from pipeline.models import EVENTS, SOURCE_KINDS, STANCES
from pipeline.settings import REPO_ROOT, SettingsError

LOGGER = logging.getLogger("muniwatch")

# subcommand -> (module, function taking the parsed arguments and returning the exit code).
# Imported by name when the subcommand runs, not at the top of this file: start-up time of
# `muniwatch tag`, which must not pay for Elasticsearch, httpx, Jinja and the rest.
HANDLERS: dict[str, tuple[str, str]] = {
    "run": ("pipeline.runner", "run_command"),
    "tag": ("pipeline.cli", "tag_command"),
    "eval": ("pipeline.cli", "eval_command"),
    "train": ("pipeline.tagging.training", "train_command"),
    "search": ("pipeline.search.query", "search_command"),
    "reindex": ("pipeline.store.reindex", "reindex_command"),
    "replay": ("pipeline.store.quarantine", "replay_command"),
    "rematch": ("pipeline.rematch", "rematch_command"),
    "subscribe": ("pipeline.alerts.commands", "subscribe_command"),
    "unsubscribe": ("pipeline.alerts.commands", "unsubscribe_command"),
    "kibana": ("pipeline.search.kibana", "kibana_command"),
    "bench": ("pipeline.cli", "bench_command"),
    "demo": ("pipeline.local.demo", "demo_command"),
    "es": ("pipeline.local.es_local", "es_command"),
    "stack": ("pipeline.local.stack", "stack_command"),
    "config": ("pipeline.cli", "config_command"),
    "serve": ("pipeline.web.commands", "serve_command"),
}
# `muniwatch tag --help`: the input fields (README, "Tagging a file", says the same).
TAG_INPUT_FIELDS = """input fields (one JSON object per line):
  id          string or number, required   copied to the output line (as a string)
  text        string, required             the item's main text (article body, post text)
  title       string, optional             headline; read with the text
  url         string, optional             the item's address (read for clues such as /ca/)
  home_state  string, optional             USPS code of the source's state, a hint for places
  language    string, optional             e.g. "en"; detected when absent (English-first tagger)
A line that is not such an object is reported on stderr with its number; the others are tagged.
example:
  echo '{"id": "1", "title": "Glendale ends ICE contract", "text": "The council voted ..."}' \\
    | muniwatch tag"""
# The benchmark harness: in the source checkout, not in the installed package.
BENCH_DIR = REPO_ROOT / "bench"


def tag_command(args: argparse.Namespace) -> int:
    """JSON Lines in, JSON Lines out; no Elasticsearch, no network."""
    from pipeline.tagging.commands import run_tag

    try:
        source = sys.stdin if args.input == "-" else open(args.input, encoding="utf-8")  # noqa: SIM115
    except OSError as error:
        print(f"muniwatch tag: cannot read --input {args.input}: {error.strerror}", file=sys.stderr)
        return 2
    try:
        if args.output == "-":
            return run_tag(source, sys.stdout)
        with open(args.output, "w", encoding="utf-8") as target:
            return run_tag(source, target)
    finally:
        if source is not sys.stdin:
            source.close()


def eval_command(args: argparse.Namespace) -> int:
    from pipeline.tagging.commands import run_eval

    return run_eval(
        list(args.data) if args.data else None,
        bool(args.json),
        sys.stdout,
        train=args.train,
        errors=bool(args.errors),
        system=args.system,
        folds=args.folds,
        cross_validate=not args.no_cv,
    )


def bench_command(args: argparse.Namespace) -> int:
    """``python -m bench`` from the checkout, in a new process: the product never imports the
    benchmark, and the benchmark is not part of the installed package."""
    if not (BENCH_DIR / "__main__.py").is_file():
        print(
            f"muniwatch bench: the benchmark ships with the source checkout, not with the installed "
            f"package (no {BENCH_DIR / '__main__.py'}); run `make bench` in a clone of the repository",
            file=sys.stderr,
        )
        return 2
    flags = [flag for flag, wanted in (("--quick", args.quick), ("--json", args.json)) if wanted]
    # From the checkout's root, so `-m bench` finds this checkout's harness and no other.
    return subprocess.run(
        [sys.executable, "-m", "bench", *flags], cwd=BENCH_DIR.parent, check=False
    ).returncode


def config_command(args: argparse.Namespace) -> int:
    """``muniwatch config check``: validate the three files and say what they hold."""
    loaded = config_module.load_config(args.sources, args.watchlists, args.subscriptions)
    print(
        f"ok: {len(loaded.sources)} sources, {len(loaded.watchlists)} watchlists "
        f"({len(loaded.rules)} rules), {len(loaded.subscriptions)} subscriptions"
    )
    return 0


def _add_config_paths(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sources", type=Path, default=config_module.DEFAULT_SOURCES, help="sources YAML")
    parser.add_argument("--watchlists", type=Path, default=config_module.DEFAULT_WATCHLISTS)
    parser.add_argument("--subscriptions", type=Path, default=config_module.DEFAULT_SUBSCRIPTIONS)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="muniwatch", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run the whole pipeline (poll, fetch, tag, index, alert)")
    run.add_argument(
        "--once", action="store_true", help="one pass, then exit (the default: Airflow does the repeating)"
    )
    _add_config_paths(run)
    run.add_argument("--json", action="store_true", help="print the summary as JSON")

    demo = commands.add_parser("demo", help="run the pipeline once on bundled offline sample sources")
    demo.add_argument("--json", action="store_true", help="print the summary as JSON")
    demo.add_argument(
        "--fresh", action="store_true", help="forget earlier demo runs first (demo indices only)"
    )
    demo.add_argument(
        "--serve", action="store_true", help="keep `muniwatch serve` (the e-mail links) up after the run"
    )

    tag = commands.add_parser(
        "tag",
        help="tag JSON Lines (no Elasticsearch, no network)",
        description="Tag items: one JSON object per input line, one per output line (same id).",
        epilog=TAG_INPUT_FIELDS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    tag.add_argument("--input", default="-", help="JSON Lines file, or - for stdin")
    tag.add_argument("--output", default="-", help="JSON Lines file, or - for stdout")

    evaluate = commands.add_parser(
        "eval", help="score the learned tagger, the rules and a bag-of-words baseline on labelled JSON Lines"
    )
    evaluate.add_argument(
        "--data", action="append", help="labelled .jsonl to score plainly (repeatable; default dev + seeds)"
    )
    evaluate.add_argument("--train", help="training .jsonl for cross-validation (default shared train.jsonl)")
    evaluate.add_argument("--folds", type=int, help="k of the k-fold cross-validation (default 5)")
    evaluate.add_argument("--no-cv", action="store_true", help="skip the cross-validation")
    evaluate.add_argument("--json", action="store_true")
    evaluate.add_argument("--errors", action="store_true", help="list every miss with its evidence")
    evaluate.add_argument(
        "--system", choices=["learned", "rules", "bow"], default="learned", help="whose misses --errors lists"
    )

    train = commands.add_parser("train", help="fit the tagger's model on labelled data (deterministic)")
    train.add_argument("--data", help="training .jsonl (default: the shared train.jsonl)")
    train.add_argument(
        "--output", default=str(Path(__file__).resolve().parent / "data" / "tagger_model.json")
    )
    train.add_argument("--seed", type=int, default=12)

    search = commands.add_parser("search", help="search indexed items, grouped by story")
    search.add_argument("query", nargs="?", default="", help="words, phrases, AND/OR/NOT")
    search.add_argument("--jurisdiction")
    search.add_argument("--state", help="USPS code or name, any case (CA, california)")
    search.add_argument("--stance", choices=STANCES)
    search.add_argument("--event", choices=EVENTS)
    search.add_argument("--since", help="e.g. 7d, 24h, or an ISO date")
    search.add_argument("--limit", type=int, default=20)
    search.add_argument("--json", action="store_true")

    reindex = commands.add_parser("reindex", help="re-tag stored items into a new index version")
    reindex.add_argument("--batch-size", type=int, default=500)

    replay = commands.add_parser("replay", help="retry quarantined items")
    replay.add_argument("--stage", help="only this stage (fetch, extract, index, ...)")
    replay.add_argument("--list", action="store_true", help="list instead of replaying")

    rematch = commands.add_parser(
        "rematch", help="run the current watchlists over kept (unmatched) texts; index what matches now"
    )
    _add_config_paths(rematch)
    rematch.add_argument("--dry-run", action="store_true", help="only count what would be promoted")
    rematch.add_argument("--json", action="store_true", help="print the report as JSON")

    subscribe = commands.add_parser("subscribe", help="manage reporter subscriptions")
    sub_actions = subscribe.add_subparsers(dest="action", required=True)
    add = sub_actions.add_parser("add")
    add.add_argument("--id", required=True)
    add.add_argument("--email", required=True)
    add.add_argument("--mode", choices=["immediate", "daily"], default="immediate")
    add.add_argument("--query")
    add.add_argument("--jurisdiction", action="append", default=[])
    add.add_argument("--state", action="append", default=[], help="USPS code or name (CA, California)")
    add.add_argument("--stance", action="append", default=[], choices=STANCES)
    add.add_argument("--event", action="append", default=[], choices=EVENTS)
    add.add_argument(
        "--source-kind",
        action="append",
        default=[],
        choices=SOURCE_KINDS,
        help="only items from this kind of source (287g_list: ICE list changes only)",
    )
    add.add_argument("--timezone", default="UTC")
    add.add_argument("--digest-hour", type=int, default=7)
    add.add_argument("--replace", action="store_true", help="redefine the subscription if the id exists")
    sub_actions.add_parser("list").add_argument("--json", action="store_true")
    sub_actions.add_parser("remove").add_argument("id")
    sync = sub_actions.add_parser("sync", help="load config/subscriptions.yaml into Elasticsearch")
    sync.add_argument("--subscriptions", type=Path, default=config_module.DEFAULT_SUBSCRIPTIONS)
    preview = sub_actions.add_parser("preview", help="print a subscription's pending daily digest")
    preview.add_argument("id")
    preview.add_argument("--html", help="also write the digest's HTML to this file")

    unsubscribe = commands.add_parser("unsubscribe", help="honour an unsubscribe token from an e-mail")
    unsubscribe.add_argument("token")

    kibana = commands.add_parser("kibana", help="Kibana saved objects")
    kibana.add_argument("action", choices=["import"])
    kibana.add_argument("--url", help="Kibana URL (default MUNIWATCH_KIBANA_URL)")

    bench = commands.add_parser("bench", help="run the benchmark")
    bench.add_argument("--quick", action="store_true")
    bench.add_argument("--json", action="store_true")

    es = commands.add_parser("es", help="the local Elasticsearch node")
    es.add_argument("action", choices=["up", "down", "status"])

    stack = commands.add_parser("stack", help="local stack: Elasticsearch, Airflow, SMTP sink, demo feeds")
    stack.add_argument("action", choices=["up", "down", "status"])
    stack.add_argument("--no-demo", action="store_true", help="poll config/sources.yaml, not the demo feeds")
    stack.add_argument(
        "--distributed",
        action="store_true",
        help="CeleryExecutor on Postgres + Redis, two workers, 3-node Elasticsearch (README: Scaling out)",
    )

    serve = commands.add_parser("serve", help="the reporter-facing web service (unsubscribe, digest preview)")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8090, help="port (default 8090)")

    check = commands.add_parser("config", help="validate the configuration files")
    check.add_argument("action", choices=["check"])
    _add_config_paths(check)
    return parser


def _resolve(command: str) -> Callable[[argparse.Namespace], int]:
    module_name, function_name = HANDLERS[command]
    handler: Callable[[argparse.Namespace], int] = getattr(
        importlib.import_module(module_name), function_name
    )
    return handler


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # One line per HTTP request drowns what matters; our own modules log what they fetch.
    for noisy in ("httpx", "httpcore", "elastic_transport"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if args.verbose else logging.WARNING)
    # The client's retry warnings carry a traceback each (a dozen before the point when
    # Elasticsearch is down); the command's own one-line error says it (-v shows them).
    logging.getLogger("elastic_transport").setLevel(logging.DEBUG if args.verbose else logging.ERROR)
    handler = _resolve(args.command)
    try:
        return handler(args)
    except config_module.ConfigError as error:
        print(f"configuration error:\n{error}", file=sys.stderr)
        return 2
    except SettingsError as error:
        print(f"settings error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # known failures become one line and an exit code (pipeline.failures)
        return _one_line(args, error)


def _one_line(args: argparse.Namespace, error: Exception) -> int:
    from pipeline.failures import describe
    from pipeline.settings import load_settings

    try:
        settings = load_settings()
    except SettingsError:
        settings = None
    described = describe(error, settings)
    if described is None:
        raise error  # a bug: the traceback is what a developer needs
    message, code = described
    if args.verbose:
        LOGGER.exception("muniwatch %s failed", args.command)
    print(f"muniwatch {args.command}: {message}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
