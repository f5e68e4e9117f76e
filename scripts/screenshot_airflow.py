"""Screenshots of the running local stack's Airflow UI, as a person would see it (browser check).

Usage (after ``make up``)::

    .venv/bin/python scripts/screenshot_airflow.py            # PNGs under var/screenshots/
    .venv/bin/python scripts/screenshot_airflow.py --wait 10 --base-url http://127.0.0.1:8080

What it does: logs in to Airflow's API (simple auth manager; the password comes from
``var/airflow/passwords.json`` as written by ``airflow standalone``, or ``--password``), starts
headless Chromium (Debian package ``chromium``) with its own throw-away profile, hands it the
session cookie through the DevTools protocol, opens each page, waits for the single-page app to
render and saves a screenshot:

- ``dags.png``              — the DAG list (the four muniwatch DAGs and their last runs)
- ``dag_poll.png``          — muniwatch_poll's runs and tasks
- ``status_in_airflow.png`` — the *muniwatch status* view inside the Airflow UI (nav entry)
- ``status.png``            — the status page itself (per-source health, per-day figures)

Then it stops the browser it started. Look at the PNGs: they should show what the names say.
"""

from __future__ import annotations

import argparse
import base64
import itertools
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from websockets.sync.client import ClientConnection, connect

REPO_ROOT = Path(__file__).resolve().parent.parent
PAGES = {
    "dags.png": "/dags",
    "dag_poll.png": "/dags/muniwatch_poll",
    "status_in_airflow.png": "/plugin/muniwatch-status",
    "status.png": "/muniwatch/status",
}
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--window-size=1440,1000",
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _token(base_url: str, user: str, password: str) -> str:
    response = httpx.post(f"{base_url}/auth/token", json={"username": user, "password": password}, timeout=10)
    response.raise_for_status()
    return str(response.json()["access_token"])


class DevTools:
    """The few DevTools protocol calls we need, over the page target's websocket."""

    def __init__(self, ws: ClientConnection) -> None:
        self._ws = ws
        self._ids = itertools.count(1)

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        call_id = next(self._ids)
        self._ws.send(json.dumps({"id": call_id, "method": method, "params": params}))
        while True:
            message = json.loads(self._ws.recv(timeout=60))
            if message.get("id") == call_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return dict(message.get("result", {}))


def _page_target(port: int, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            targets = httpx.get(f"http://127.0.0.1:{port}/json/list", timeout=2).json()
            for target in targets:
                if target.get("type") == "page":
                    return str(target["webSocketDebuggerUrl"])
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.3)
    raise RuntimeError("Chromium did not open its DevTools port")


def _capture(tools: DevTools, base_url: str, token: str, out_dir: Path, wait_s: float) -> list[Path]:
    tools.call("Network.enable")
    # The UI's session cookie, as the login page would have set it.
    tools.call("Network.setCookie", name="_token", value=token, domain=httpx.URL(base_url).host, path="/")
    tools.call("Page.enable")
    written = []
    for name, path in PAGES.items():
        tools.call("Page.navigate", url=f"{base_url}{path}")
        time.sleep(wait_s)  # the UI is a single-page app: give it time to fetch and render
        shot = tools.call("Page.captureScreenshot", format="png")
        target = out_dir / name
        target.write_bytes(base64.b64decode(shot["data"]))
        written.append(target)
    return written


def take_screenshots(base_url: str, token: str, out_dir: Path, wait_s: float, chromium: str) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    profile = Path(tempfile.mkdtemp(prefix="mw-chromium-"))
    browser = subprocess.Popen(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--remote-debugging-port={port}",
         "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    written: list[Path] = []
    try:
        with connect(_page_target(port), max_size=64 * 1024 * 1024, open_timeout=10) as ws:
            written = _capture(DevTools(ws), base_url, token, out_dir, wait_s)
    finally:
        browser.terminate()
        try:
            browser.wait(timeout=10)
        except subprocess.TimeoutExpired:
            browser.kill()
        shutil.rmtree(profile, ignore_errors=True)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base-url", default="http://127.0.0.1:8080")
    parser.add_argument("--user", default="admin")
    parser.add_argument("--password", help="default: from var/airflow/passwords.json")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "var" / "screenshots")
    parser.add_argument("--wait", type=float, default=6.0, help="seconds to let each page render")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = parser.parse_args(argv)
    if not Path(args.chromium).exists():
        print("chromium not found: apt-get install -y chromium", file=sys.stderr)
        return 2
    password = args.password
    if password is None:
        passwords = REPO_ROOT / "var" / "airflow" / "passwords.json"
        password = json.loads(passwords.read_text())[args.user]
    token = _token(args.base_url, args.user, password)
    for path in take_screenshots(args.base_url, token, args.out, args.wait, args.chromium):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
