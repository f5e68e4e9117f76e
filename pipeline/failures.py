"""How the pipeline fails: the isolation rule every step follows, and the one line a user sees.

The rule — **one bad thing fails only itself**:

* One *item*, *subscription*, *delivery* or *source* that cannot be processed is set aside with its
  reason — quarantined (``pipeline.store.quarantine``, replayable with ``muniwatch replay``) or
  marked failed in the ledger (retried by later runs) — counted in the run summary and the
  source's health, and the rest of its batch and of the run go on. Concretely:

  - polling: each source is harvested, counted and its state saved on its own
    (``pipeline.sources.polling``); a source's new items per poll are capped, the rest wait;
  - bulk writes: a document Elasticsearch refuses (even when it makes the whole request fail
    with 413/429) is split out and quarantined; the others are written
    (``pipeline.store.items``); quarantine records are written in bulk;
  - alerts: any exception while matching, rendering or sending for one subscription or one
    delivery becomes a failed (retryable) delivery or a quarantined match with its reason; the
    other subscriptions' alerts go out and the items are marked done for them only
    (``pipeline.alerts.run``, ``pipeline.alerts.delivery``);
  - sizes and times are capped per item (``pipeline.limits``) and per fetch (the client's
    total deadline), so that no single input can hold a run.

* What stops a whole command is only what stops every item alike: Elasticsearch unreachable,
  a configuration that does not load. Then the command prints **one line** (no traceback; ``-v``
  shows the details) and exits with a code that says what happened (:func:`describe`):

  ===  ============================================================================
  0    done; nothing failed
  1    done, but a step failed or alerts were set aside for replay (see the
       summary), or a service the command needs (Elasticsearch, SMTP, Kibana) is
       unreachable
  2    the input is wrong: configuration, arguments, a query Elasticsearch refuses
  130  interrupted (Ctrl-C)
  ===  ============================================================================
"""

from __future__ import annotations

import errno

from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import ConnectionTimeout, TransportError
from elasticsearch import ApiError, AuthenticationException, AuthorizationException

from pipeline.settings import Settings, without_credentials

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


def _es_reason(error: ApiError) -> str:
    """Elasticsearch's own reason, from the deepest ``caused_by`` that says something."""
    info = error.info if isinstance(error.info, dict) else {}
    node = info.get("error") if isinstance(info.get("error"), dict) else None
    reason = str(error.message)
    while isinstance(node, dict):
        if node.get("reason"):
            reason = str(node["reason"])
        root = node.get("root_cause")
        node = node.get("caused_by") or (root[0] if isinstance(root, list) and root else None)
    return reason[:300]


def describe(error: BaseException, settings: Settings | None = None) -> tuple[str, int] | None:
    """One line and an exit code for an error a user can act on; None for a real bug (traceback).

    Args:
        error: what escaped the command.
        settings: for naming the Elasticsearch URL (without credentials).
    """
    where = without_credentials(settings.es_url) if settings is not None else "the configured URL"
    if isinstance(error, TransportConnectionError | ConnectionTimeout):
        return (
            f"Elasticsearch at {where} is not reachable ({type(error).__name__}); start it with "
            "`muniwatch es up`, or set MUNIWATCH_ES_URL",
            EXIT_FAILED,
        )
    if isinstance(error, AuthenticationException | AuthorizationException):
        return f"Elasticsearch at {where} refused the credentials: {_es_reason(error)}", EXIT_FAILED
    if isinstance(error, ApiError) and error.status_code in (400, 413):
        return f"Elasticsearch refused the request: {_es_reason(error)}", EXIT_BAD_INPUT
    if isinstance(error, ApiError):
        return f"Elasticsearch answered HTTP {error.status_code}: {_es_reason(error)}", EXIT_FAILED
    if isinstance(error, TransportError):
        return f"Elasticsearch at {where}: {error}", EXIT_FAILED
    if isinstance(error, RecursionError):
        return "the query is nested too deeply to read; use fewer parentheses", EXIT_BAD_INPUT
    if isinstance(error, OverflowError):
        return f"a number or date is out of range: {error}", EXIT_BAD_INPUT
    if isinstance(error, OSError) and error.errno in (errno.ECONNREFUSED, errno.EHOSTUNREACH):
        return f"a service is not reachable: {error.strerror or error}", EXIT_FAILED
    name = type(error).__name__
    if name == "IndexingUnavailable":  # pipeline.store.items; not imported here (start-up time)
        return str(error), EXIT_FAILED
    return None
