"""``muniwatch serve``: the reporter-facing web service — one-click unsubscribe (RFC 8058) and a
preview of a subscriber's pending daily digest, at ``MUNIWATCH_PUBLIC_URL``.

The ops view stays in Airflow; nothing here needs a login, so every request is authorised by the
signed token of :mod:`pipeline.alerts.tokens` alone, checked before anything is written
(:mod:`pipeline.web.access`). Modules: ``access`` (tokens → subscription), ``app`` (the Starlette
application), ``commands`` (``muniwatch serve`` and ``muniwatch subscribe preview``).
"""
