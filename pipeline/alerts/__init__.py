"""Alerts: subscriptions matched against newly indexed items, one e-mail per story (immediate) or a
daily digest, through a pending → sent delivery ledger so that nothing is lost and nothing is sent
twice. Entry points for the runner and the DAGs:

- ``run_alerts(es, settings, *, now, digests=True) -> AlertReport``
- ``send_due_digests(es, settings, *, now)`` and ``recover_pending(es, settings, *, now, older_than)``
- ``sync_subscriptions(es, settings, configs)`` and ``unsubscribe(es, settings, token) -> Subscription``
"""

from pipeline.alerts.delivery import SendCounts, recover_pending
from pipeline.alerts.digests import send_due_digests
from pipeline.alerts.run import AlertReport, run_alerts
from pipeline.alerts.subscriptions import Subscription, SubscriptionError, sync_subscriptions, unsubscribe
from pipeline.alerts.tokens import InvalidTokenError

__all__ = [
    "AlertReport",
    "InvalidTokenError",
    "SendCounts",
    "Subscription",
    "SubscriptionError",
    "recover_pending",
    "run_alerts",
    "send_due_digests",
    "sync_subscriptions",
    "unsubscribe",
]
