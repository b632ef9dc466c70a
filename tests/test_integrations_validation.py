"""PURE: catalog definitions, checks of integration writes, supplier and health (table-driven)."""

from __future__ import annotations

import pytest

from config_service.integrations.catalog import BUILT_IN
from config_service.integrations.seed import catalog_problems
from config_service.integrations.validation import (
    IntegrationError,
    check_write,
    health,
    rebind_problem,
    supplier,
    type_problem,
)

CATALOG = {item["id"]: item["fields"] for item in BUILT_IN}


def test_built_in_catalog_obeys_its_own_rules() -> None:
    assert catalog_problems() == []
    ids = [item["id"] for item in BUILT_IN]
    assert len(ids) == len(set(ids))
    for item in BUILT_IN:
        assert any(f["secret"] for f in item["fields"]), item["id"]  # every vendor needs a credential
        assert all(type_problem(f, f["example"]) is None for f in item["fields"])


@pytest.mark.parametrize(
    "type_, good, bad",
    [
        ("string", "x", 1),
        ("integer", 3, True),
        ("integer", -1, 1.5),
        ("number", 1.5, "1.5"),
        ("boolean", False, 0),
        ("url", "https://a.example.com/x", "a.example.com"),
        ("url", "http://localhost:9090", "javascript:alert(1)"),
        ("url", "https://x.io", "https://x .io"),
        ("email", "a@b.co", "a@b"),
        ("string_list", ["a"], ["a", 1]),
    ],
)
def test_type_checks(type_, good, bad) -> None:
    field = {"name": "f", "type": type_}
    assert type_problem(field, good) is None
    assert type_problem(field, bad) is not None


def test_enum_problem_lists_options_not_the_value() -> None:
    problem = type_problem({"type": "enum", "options": ["US", "EU"]}, "secret-ish-value")
    assert problem is not None and "secret-ish-value" not in problem and "US" in problem


def test_check_write_returns_secrets_to_seal_and_endpoints_set() -> None:
    old = {"integrations": {"grafana": {"url": "https://a.grafana.net", "org_id": 1}}}
    new = {"integrations": {"grafana": {"url": "https://a.grafana.net", "org_id": 2, "service_account_token": "glsa"},
                            "datadog": {"site": "datadoghq.eu", "api_key": {"$secret": "dd"}},
                            "custom": {"anything": 1}}}
    to_seal, endpoints = check_write(old, new, CATALOG)
    assert to_seal == [(["integrations", "grafana", "service_account_token"], "glsa")]
    assert endpoints == [("datadog", "site")]


def test_unchanged_values_are_not_judged_again() -> None:
    old = {"integrations": {"grafana": {"legacy": 1}}}
    new = {"integrations": {"grafana": {"legacy": 1, "org_id": 2}}}
    assert check_write(old, new, CATALOG) == ([], [])
    with pytest.raises(IntegrationError) as info:
        check_write({}, new, CATALOG)
    assert info.value.path == "/integrations/grafana/legacy"


def test_supplier_and_rebind() -> None:
    chain = [
        {"integrations": {"grafana": {"url": "https://o", "service_account_token": "$enc:v1:k:A"}}},
        {"integrations": {"grafana": {"url": "https://o", "service_account_token": "$enc:v1:k:A"}}},
        {"integrations": {"grafana": {"url": "https://t", "service_account_token": "$enc:v1:k:A"}}},
    ]
    assert supplier(chain, ["integrations", "grafana", "service_account_token"]) == 0
    assert supplier(chain, ["integrations", "grafana", "url"]) == 2
    assert supplier(chain, ["integrations", "grafana", "org_id"]) is None
    assert rebind_problem(chain, [("grafana", "url")], CATALOG)[0] == "/integrations/grafana/url"
    chain[2]["integrations"]["grafana"]["service_account_token"] = "$enc:v1:k:B"
    assert rebind_problem(chain, [("grafana", "url")], CATALOG) is None


def test_health_statuses() -> None:
    # effective configs along the lineage (root first)
    chain = [{"integrations": {"coralogix": {"api_key": "$enc:v1:k:A"}, "sentry": "not-an-object"}},
             {"integrations": {"coralogix": {"api_key": "$enc:v1:k:A", "domain": "cx498.coralogix.com"},
                               "sentry": "not-an-object"}}]
    result = health(chain, ["acme", "sre"], CATALOG)["integrations"]
    assert set(result) == set(CATALOG)
    assert result["coralogix"]["status"] == "configured"
    assert result["coralogix"]["sources"] == {"api_key": "acme", "domain": "sre"}
    assert result["sentry"]["status"] == "not_configured"
