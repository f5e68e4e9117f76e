"""muniwatch: watch news feeds and social accounts for local-government decisions on
cooperation with federal immigration enforcement.

Every step of the pipeline lives here as plain typed Python with no Airflow import;
``dags/`` only wires these steps into Airflow. Each folder is one arrow of the flow::

    sources ─poll─▶ rules ─fetch─▶ fetch ─tag─▶ tagging ─cluster─▶ stories ─index─▶ store ─▶ alerts
                                                                                  └─▶ search

- ``sources/``  polling (``polling``), feed and X harvesting (``feeds``, ``x``, ``harvest``), the
  intake gate (``gate``), per-source state and health (``state``), URL canonicalisation (``urls``),
  the priority-feed check the Airflow watcher runs (``priority``), the new-items cap and
  corrected titles (``known``); primary records: ICE's 287(g) workbooks (``workbook`` reads them,
  ``ice287g`` diffs versions), Legistar matters (``legistar``), polled by ``record_polling`` and
  written as items by ``records``
- ``rules/``    the watchlist query language (``language``) and the texts it is matched on (``words``)
- ``fetch/``    the one SSRF-safe HTTP client (``client``, ``guard``, ``errors``) and main-text
  extraction with trafilatura (``extract``)
- ``tagging/``  relevance, jurisdiction, stance and event; ``evaluate`` scores it
- ``stories/``  near-duplicate fingerprints, candidate lookup, clustering, story documents
- ``store/``    the Elasticsearch client, versioned indices (index templates in ``templates/``),
  item documents and writes, the pending queue with per-source fetch budgets (``pending``),
  quarantine and replay, reindex
- ``search/``   query building and ``muniwatch search`` (``query``, ``highlights``), links into
  Kibana (``links``), Kibana saved objects (``kibana``, the objects in ``saved_objects/``)
- ``alerts/``   subscriptions, matching, rendering, the delivery ledger, SMTP
- ``web/``      ``muniwatch serve``: the reporter-facing pages every e-mail links to (one-click
  unsubscribe, digest preview), authorised by the signed tokens alone
- ``ops/``      the status figures (``status``), source health alarms (``health``) and daily maintenance
  (``maintenance``)
- ``local/``    local tooling: the development Elasticsearch node, ``make up``'s stack, the demo

At the top: ``cli`` (the ``muniwatch`` command), ``settings`` and ``airflow_settings`` (runtime
settings), ``config`` (the YAML files), ``models`` (types at the seams), ``enrich`` (fetch →
extract → rules → tag → cluster → index for a batch; its per-page CPU part is ``analysis``),
``rematch`` (the watchlists again over kept, unmatched texts), ``tasks`` (the coarse entry points the DAGs
and ``runner`` share) and ``runner`` (``muniwatch run --once``); ``failures`` (the isolation rule
every step follows, and the one line + exit code a user sees) and ``limits`` (per-item size caps).
"""

__version__ = "0.1.0"
