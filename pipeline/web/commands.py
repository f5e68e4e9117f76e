"""``muniwatch serve`` and ``muniwatch subscribe preview ID``."""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path

from elasticsearch import ApiError, TransportError

from pipeline.alerts.subscriptions import get_subscription
from pipeline.settings import check_public_settings, load_settings
from pipeline.store.client import make_client

LOGGER = logging.getLogger(__name__)


def serve_command(args: argparse.Namespace) -> int:
    """Run the web service until interrupted (settings are checked first: a deployment refuses
    local links and the default sender, see :func:`pipeline.settings.check_public_settings`)."""
    import uvicorn

    from pipeline.web.app import create_app

    settings = load_settings()
    check_public_settings(settings)
    es = make_client(settings)
    app = create_app(settings, es)
    print(
        f"muniwatch serve: listening on http://{args.host}:{args.port}/ ; e-mail links point at "
        f"{settings.public_url} (index prefix {settings.index_prefix})",
        file=sys.stderr,
        flush=True,
    )
    try:
        # No access log: the tokens in the links are credentials for one subscription.
        uvicorn.run(app, host=args.host, port=args.port, access_log=False, log_level="warning")
    finally:
        es.close()
    return 0


def preview_command(args: argparse.Namespace) -> int:
    """Print the subscription's pending digest as text, and write its HTML to ``--html`` if given."""
    from pipeline.alerts.digests import pending_digest
    from pipeline.alerts.render import render_digest, unsubscribe_link
    from pipeline.alerts.tokens import make_token, unsubscribe_secret

    settings = load_settings()
    es = make_client(settings)
    try:
        subscription = get_subscription(es, settings, args.id)
        if subscription is None:
            print(
                f"muniwatch subscribe preview: no subscription with id {args.id!r} "
                "(see `muniwatch subscribe list`)",
                file=sys.stderr,
            )
            return 1
        _, stories = pending_digest(es, settings, subscription)
    except (ApiError, TransportError) as error:
        print(
            f"muniwatch subscribe preview: Elasticsearch at {settings.es_url} did not answer: {error}",
            file=sys.stderr,
        )
        return 1
    finally:
        es.close()
    token = make_token(unsubscribe_secret(settings), subscription.id, subscription.email)
    rendered = render_digest(
        subscription,
        stories,
        day=datetime.now(UTC).date().isoformat(),
        unsubscribe_link=unsubscribe_link(settings, token),
        preview=True,
    )
    print(rendered.text, end="")
    print(f"\nonline (signed link): {settings.digest_url}?token={token}", file=sys.stderr)
    if args.html:
        path = Path(args.html)
        path.write_text(rendered.html, encoding="utf-8")
        print(f"\n(HTML written to {path})", file=sys.stderr)
    return 0
