"""How a Legistar matter's status reads: a decision or not, and the event it records."""

from __future__ import annotations

import pytest

from pipeline.sources.legistar import event_of, outcome


@pytest.mark.parametrize(
    ("status", "passed_date", "expected"),
    [
        ("Introduced", None, None),
        ("Agenda Ready", None, None),
        ("Withdrawn", None, None),
        ("Adopted", None, "passed"),
        ("Passed", None, "passed"),
        ("Approved as Amended", None, "passed"),
        ("Filed", "2025-06-10", "passed"),  # a passage date is a decision whatever the status says
        ("Failed", None, "failed"),
        ("Motion Failed", "2025-06-10", "failed"),
        ("Vetoed", None, "failed"),
    ],
)
def test_only_a_passage_or_a_failure_is_a_decision(
    status: str, passed_date: str | None, expected: str | None
) -> None:
    assert outcome(status, passed_date) == expected


@pytest.mark.parametrize(
    ("title", "decided", "expected"),
    [
        (
            "Resolution authorizing an agreement with U.S. Immigration and Customs Enforcement",
            None,
            "vote_or_proposal",
        ),
        (
            "Resolution authorizing an agreement with U.S. Immigration and Customs Enforcement",
            "passed",
            "sign_or_join",
        ),
        ("Resolution terminating the intergovernmental service agreement with ICE", "passed", "terminate"),
        ("Ordinance amending the sanctuary policy", "passed", "policy_change"),
        ("Resolution authorizing an agreement with ICE", "failed", "vote_or_proposal"),
    ],
)
def test_the_event_follows_the_decision_and_the_title(title: str, decided: str | None, expected: str) -> None:
    assert event_of(title, decided) == expected
