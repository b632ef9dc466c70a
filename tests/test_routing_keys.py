"""PURE: routing claims and lookup precedence."""

from __future__ import annotations

import pytest

from config_service.routing.keys import (
    IDENTIFIER_KINDS,
    LOOKUP_ORDER,
    Claim,
    RoutingError,
    claims,
    identifier_problem,
    lookup_candidates,
)


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({}, set()),
        ({"routing": None}, set()),
        ({"routing": {"slack_channel_ids": None}}, set()),
        ({"routing": {"slack_channel_ids": ["C1", "c1"]}}, {Claim("slack_channel_ids", "C1", "C1"),
            Claim("slack_channel_ids", "c1", "c1")}),
        ({"routing": {"services": ["Checkout", "checkout"]}}, {Claim("services", "checkout", "Checkout")}),
        ({"routing": {"github_repos": ["Org/Repo"]}}, {Claim("github_repos", "org/repo", "Org/Repo")}),
        ({"routing": {"coralogix_team_names": ["Payments"]}}, {Claim("coralogix_team_names", "payments", "Payments")}),
        ({"routing": {"pagerduty_service_ids": ["PABC"]}}, {Claim("pagerduty_service_ids", "PABC", "PABC")}),
        ({"routing": {"unknown_list": ["x"], "default_channel": "C9"}}, set()),
        ({"routing": {"slack_workspace_ids": ["T1"]}}, {Claim("slack_workspace_ids", "T1", "T1")}),
    ],
)
def test_claims(config, expected):
    assert claims(config) == expected


@pytest.mark.parametrize(
    ("config", "path"),
    [
        ({"routing": "C1"}, "/routing"),
        ({"routing": {"services": "checkout"}}, "/routing/services"),
        ({"routing": {"services": ["ok", 3]}}, "/routing/services/1"),
        ({"routing": {"slack_channel_ids": [""]}}, "/routing/slack_channel_ids/0"),
    ],
)
def test_malformed_routing_is_refused_with_its_path(config, path):
    with pytest.raises(RoutingError) as caught:
        claims(config)
    assert caught.value.path == path


def test_lookup_candidates_follow_precedence_whatever_the_input_order():
    identifiers = {
        "service": "Checkout",
        "incidentio_alert_source_id": "A1",
        "coralogix_team_name": "Pay",
        "github_repo": "Org/Repo",
        "slack_channel_id": "C1",
        "pagerduty_service_id": "P1",
        "incidentio_team_id": "I1",
        "slack_workspace_id": "T1",
    }
    got = lookup_candidates(identifiers)
    assert [c[0] for c in got] == [singular for singular, _ in LOOKUP_ORDER]
    assert ("service", "services", "checkout") in got
    assert ("github_repo", "github_repos", "org/repo") in got
    assert ("slack_channel_id", "slack_channel_ids", "C1") in got


def test_lookup_candidates_skip_missing_and_non_strings():
    assert lookup_candidates({"service": 3, "slack_channel_id": ""}) == []


@pytest.mark.parametrize(
    ("identifiers", "path"),
    [
        ({}, None),
        ({kind: "x" for kind in IDENTIFIER_KINDS}, None),
        ({"service": None, "github_repo": ""}, None),
        ({"slack_channel": "C1"}, "/identifiers/slack_channel"),
        ({"service": "a", "a/b": "x"}, "/identifiers/a~1b"),
        ({"service": 1}, "/identifiers/service"),
        ({"service": True}, "/identifiers/service"),
        ({"service": {"x": 1}}, "/identifiers/service"),
        ({"service": "x" * 501}, "/identifiers/service"),
    ],
)
def test_identifier_problem(identifiers, path):
    problem = identifier_problem(identifiers)
    assert (problem[0] if problem else None) == path
