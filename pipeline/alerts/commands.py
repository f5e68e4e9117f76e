"""``muniwatch subscribe add|list|remove|sync`` and ``muniwatch unsubscribe TOKEN``.

``subscribe add`` never redefines an existing subscription silently: it refuses unless ``--replace``.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from pipeline.alerts.subscriptions import (
    Subscription,
    SubscriptionError,
    add_subscription,
    get_subscription,
    list_subscriptions,
    remove_subscription,
    sync_subscriptions,
    unsubscribe,
)
from pipeline.alerts.tokens import InvalidTokenError
from pipeline.config import SubscriptionConfig, load_subscriptions
from pipeline.settings import load_settings
from pipeline.store.client import make_client

# pydantic field path → the command-line option a user typed
_OPTIONS = {
    "id": "--id",
    "email": "--email",
    "mode": "--mode",
    "timezone": "--timezone",
    "digest_hour": "--digest-hour",
    "filter.query": "--query",
    "filter.jurisdictions": "--jurisdiction",
    "filter.states": "--state",
    "filter.stances": "--stance",
    "filter.events": "--event",
    "filter.source_kinds": "--source-kind",
}


def _config_from_args(args: argparse.Namespace) -> SubscriptionConfig:
    return SubscriptionConfig.model_validate(
        {
            "id": args.id,
            "email": args.email,
            "mode": args.mode,
            "filter": {
                "query": args.query,
                "jurisdictions": args.jurisdiction,
                "states": args.state,
                "stances": args.stance,
                "events": args.event,
                "source_kinds": getattr(args, "source_kind", []),
            },
            "timezone": args.timezone,
            "digest_hour": args.digest_hour,
        }
    )


def _explain(error: ValidationError) -> str:
    lines = []
    for detail in error.errors():
        path = ".".join(str(p) for p in detail["loc"] if not isinstance(p, int))
        option = _OPTIONS.get(path, path)
        lines.append(f"{option}: {detail['msg'].removeprefix('Value error, ')}")
    return "\n".join(lines)


def _state(subscription: Subscription) -> str:
    if subscription.unsubscribed_at is not None:
        return f"unsubscribed {subscription.unsubscribed_at:%Y-%m-%d}"
    if subscription.removed_at is not None and not subscription.active:
        return f"removed from config {subscription.removed_at:%Y-%m-%d}"
    return "active" if subscription.active else "inactive"


def _as_json(subscription: Subscription) -> dict[str, Any]:
    return {
        "id": subscription.id,
        **subscription.definition(),
        "active": subscription.active,
        "state": _state(subscription),
        "origin": subscription.origin,
        "unsubscribed_at": subscription.unsubscribed_at.isoformat() if subscription.unsubscribed_at else None,
        "last_digest_date": subscription.last_digest_date,
    }


def subscribe_command(args: argparse.Namespace) -> int:
    if args.action == "preview":
        from pipeline.web.commands import preview_command

        return preview_command(args)
    settings = load_settings()
    es = make_client(settings)
    now = datetime.now(UTC)
    if args.action == "add":
        try:
            config = _config_from_args(args)
        except ValidationError as error:
            print(f"muniwatch subscribe add: invalid subscription:\n{_explain(error)}", file=sys.stderr)
            return 2
        current = get_subscription(es, settings, config.id)
        if current is not None and current.unsubscribed_at is None and not getattr(args, "replace", False):
            print(
                f"muniwatch subscribe add: subscription {config.id!r} exists ({current.email}, "
                f"{current.mode}, {current.describe_filter()}); nothing was changed. Add --replace to "
                "redefine it with these options, or use another --id",
                file=sys.stderr,
            )
            return 1
        try:
            subscription, created = add_subscription(es, settings, config, now=now)
        except SubscriptionError as error:
            print(f"muniwatch subscribe add: {error}", file=sys.stderr)
            return 1
        verb = "added" if created else "replaced"
        what = f"{subscription.email}, {subscription.mode}, {subscription.describe_filter()}"
        print(f"{verb} {subscription.id}: {what}")
        return 0
    if args.action == "list":
        subscriptions = list_subscriptions(es, settings)
        if args.json:
            print(json.dumps([_as_json(s) for s in subscriptions], indent=2))
            return 0
        for s in subscriptions:
            when = f" at {s.digest_hour:02d}:00 {s.timezone}" if s.mode == "daily" else ""
            print(f"{s.id:<24} {s.email:<32} {s.mode + when:<36} {_state(s):<28} {s.describe_filter()}")
        print(f"{len(subscriptions)} subscription(s), {sum(s.active for s in subscriptions)} active")
        return 0
    if args.action == "remove":
        try:
            print(remove_subscription(es, settings, args.id, now=now))
        except SubscriptionError as error:
            print(f"muniwatch subscribe remove: {error}", file=sys.stderr)
            return 1
        return 0
    if args.action == "sync":
        counts = sync_subscriptions(es, settings, load_subscriptions(args.subscriptions), now=now)
        print(
            f"synced {args.subscriptions}: "
            + ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in counts.items())
        )
        return 0
    print(f"muniwatch subscribe: unknown action {args.action!r}", file=sys.stderr)
    return 2


def unsubscribe_command(args: argparse.Namespace) -> int:
    settings = load_settings()
    es = make_client(settings)
    try:
        subscription = unsubscribe(es, settings, args.token, now=datetime.now(UTC))
    except InvalidTokenError as error:
        print(f"muniwatch unsubscribe: {error}; nothing was changed", file=sys.stderr)
        return 1
    print(f"unsubscribed {subscription.email} from {subscription.id}")
    return 0
