"""Primary records reach a reporter's inbox as records, end to end: ICE's real 287(g) workbooks (two
versions served from loopback) and a fake Legistar client → ``run_once`` → the real Elasticsearch →
SMTP on loopback (aiosmtpd). The delivered e-mail, text and HTML, carries the record's own sentence
(agency, support model, date; "no longer listed"; a council's passage of a file), the source link and
the jurisdiction with its type and state."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from html import unescape
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.config import REPO_ROOT
from pipeline.runner import run_once
from pipeline.settings import Settings
from pipeline.tasks import ConfigPaths
from tests.support.fake_legistar import FakeLegistar
from tests.support.http import LoopbackHTTPServer, Route
from tests.support.shared_sources import ICE_287G
from tests.support.smtp import LoopbackSMTPServer

pytestmark = pytest.mark.integration

REAL = ICE_287G
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _paths(tmp_path: Path, sources: str) -> ConfigPaths:
    (tmp_path / "sources.yaml").write_text("sources:\n" + sources, encoding="utf-8")
    (tmp_path / "subscriptions.yaml").write_text("subscriptions: []\n", encoding="utf-8")
    return ConfigPaths(
        sources=tmp_path / "sources.yaml",
        watchlists=REPO_ROOT / "config" / "watchlists.yaml",
        subscriptions=tmp_path / "subscriptions.yaml",
    )


def _subscribe(settings: Settings, monkeypatch: pytest.MonkeyPatch, *options: str) -> None:
    """Add the subscription as a reporter would, with `muniwatch subscribe add`."""
    monkeypatch.setenv("MUNIWATCH_ES_URL", settings.es_url)
    monkeypatch.setenv("MUNIWATCH_INDEX_PREFIX", settings.index_prefix)
    monkeypatch.setenv("MUNIWATCH_UNSUBSCRIBE_SECRET", str(settings.unsubscribe_secret))
    monkeypatch.setenv("MUNIWATCH_VAR_DIR", str(settings.var_dir))
    assert main(["subscribe", "add", *options]) == 0


def _parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    return str(text.get_content()).replace("\r\n", "\n"), unescape(str(html.get_content()))


def _one_with(messages: list[EmailMessage], sentence: str) -> tuple[str, str]:
    found = [parts for parts in map(_parts, messages) if sentence in parts[0]]
    assert len(found) == 1, f"{len(found)} e-mails say {sentence!r}: {[m['Subject'] for m in messages]}"
    return found[0]


@pytest.mark.skipif(not REAL.is_dir(), reason="real ICE workbooks not available")
def test_a_287g_list_change_is_mailed_as_the_record_with_agency_model_date_and_list_link(
    settings: Settings,
    http_server: LoopbackHTTPServer,
    smtp_server: LoopbackSMTPServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = settings.with_overrides(smtp_url=smtp_server.url)
    _subscribe(settings, monkeypatch, "--id", "fl-lists", "--email", "fl@example.org", "--state", "FL",
               "--source-kind", "287g_list")  # fmt: skip
    participating = http_server.url("/participatingAgencies.xlsx")
    pending = http_server.url("/pendingAgencies.xlsx")
    paths = _paths(
        tmp_path,
        f"  - {{id: ice-287g-participating, kind: 287g_list, list: participating, url: '{participating}'}}\n"
        f"  - {{id: ice-287g-pending, kind: 287g_list, list: pending, url: '{pending}'}}\n",
    )
    for version, now in (("07092025am", datetime(2025, 7, 9, 12, tzinfo=UTC)),
                         ("07182025pm", datetime(2025, 7, 18, 20, tzinfo=UTC))):  # fmt: skip
        for route, name in (("/participatingAgencies.xlsx", f"participatingAgencies{version}.xlsx"),
                            ("/pendingAgencies.xlsx", f"pendingAgencies{version}.xlsx")):  # fmt: skip
            http_server.add(
                route, Route(body=(REAL / name).read_bytes(), content_type=XLSX, etag=f'"{name}"')
            )
        summary = run_once(settings, paths, now=now)
        assert summary.ok, summary.problems
    # The baseline alerted nothing; the second version's Florida changes did, one e-mail per story.
    messages = smtp_server.wait_for(summary.emails_sent)
    # Seven Florida stories: St. Johns County, Bunnell, Palm Bay, two state agencies, two requests.
    assert summary.emails_sent == len(messages) == 7
    assert all(m["To"] == "fl@example.org" for m in messages)

    # St. Johns County's sheriff added the Jail Enforcement Model on 18 July 2025.
    added = (
        "St. Johns County Sheriff's Office (FL) added a 287(g) Jail Enforcement Model agreement "
        "on 18 July 2025."
    )
    text, html = _one_with(messages, added)
    assert "Where: St. Johns County (county, Florida)" in text
    assert f"Record: {added}\n    {participating}\n" in text
    assert "18 July 2025 (from the primary record, ICE's 287(g) participating agencies list)" in text
    assert added in html and f'<a href="{participating}">source</a>' in html
    assert "St. Johns County (county, Florida)" in html

    # A row gone from the participating list: "no longer listed", with the model and when it was signed.
    removed = (
        "Florida Fish and Wildlife Conservation Commission (FL) is no longer listed as a participating "
        "agency on ICE's 287(g) list (Task Force Model, signed 14 February 2025)."
    )
    text, html = _one_with(messages, removed)
    assert "Where: Florida (state)" in text and removed in html
    # ICE does not say when an agreement ended: no date is made up (the signing date is not one).
    assert "When:  the record gives no date of the decision; first reported 18 July 2025" in text

    # Each e-mail is about one Florida list change: no other state's agency shares its story, and the
    # record is said once (not again as "the sentence in which the event was found").
    for message in messages:
        text, _ = _parts(message)
        assert text.count("Record: ") == 1 and "(FL)" in text and "Florida" in text
        assert "Sentence in which the event was found" not in text
        assert "Coverage framing" not in text  # records alone: no coverage whose framing to count
        assert not re.search(r"\((?!FL\))[A-Z]{2}\)", text), text


@pytest.fixture()
def legistar() -> Iterator[FakeLegistar]:
    fake = FakeLegistar(client="glendaleca")
    fake.add_matter(
        7001,
        "Resolution authorizing the City Manager to execute an agreement with U.S. Immigration and "
        "Customs Enforcement for the use of the City jail",
        modified="2025-06-03T16:30:00",
    )
    yield fake
    fake.close()


def test_a_legistar_matter_is_mailed_when_introduced_and_when_passed_with_its_file_and_date(
    settings: Settings,
    legistar: FakeLegistar,
    smtp_server: LoopbackSMTPServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = settings.with_overrides(smtp_url=smtp_server.url)
    _subscribe(settings, monkeypatch, "--id", "ca-desk", "--email", "ca@example.org", "--state", "CA")
    paths = _paths(
        tmp_path,
        "  - {id: glendale-council, kind: legistar, client: glendaleca,\n"
        f"     jurisdiction: {{name: Glendale, type: city, state: CA}}, url: '{legistar.base}'}}\n",
    )
    assert run_once(settings, paths, now=datetime(2025, 6, 4, 8, tzinfo=UTC)).emails_sent == 1
    (introduced,) = smtp_server.wait_for(1)
    text, html = _parts(introduced)
    link = "https://glendaleca.legistar.com/LegislationDetail.aspx?ID=7001&GUID="
    assert "Where: Glendale (city, California)" in text
    assert "Record: File 25-7001 “Resolution authorizing the City Manager" in text
    assert "was introduced to City Council on 3 June 2025; status: Introduced." in text
    assert link in text and link in html

    legistar.update(7001, modified="2025-06-10T22:15:00", MatterStatusName="Adopted",
                    MatterPassedDate="2025-06-10T00:00:00")  # fmt: skip
    assert run_once(settings, paths, now=datetime(2025, 6, 11, 7, tzinfo=UTC)).emails_sent == 1
    messages = smtp_server.wait_for(2)
    text, html = _parts(messages[1])
    sentence = "City Council passed File 25-7001 “Resolution authorizing the City Manager"
    assert f"Record: {sentence}" in text and "for the use of the City jail” on 10 June 2025." in text
    assert "10 June 2025 (from the primary record, Legistar, City Council)" in text
    assert sentence in html and "Glendale (city, California)" in html and link in html
