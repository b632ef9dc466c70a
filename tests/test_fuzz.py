"""Schema-driven fuzzing of the whole API (issue 10, "Keep it fixed"): schemathesis generates valid and
invalid requests from the service's own `/openapi.json` and sends them to a real server process, as
the global admin, an org admin and a team token in turn. Every answer must be below 500 and must be
what the document says: a documented status code, a documented content type, a body and headers
that match their schema; and no value may reach PostgreSQL unchecked (a 422 that only the
database's refusal produced, `app.DATABASE_REFUSED_DETAIL`, names no path: it is a finding too).

`make test` runs a bounded pass (FUZZ_MAX_EXAMPLES generated cases per operation and generation
mode, default 4, the same cases every run); `make fuzz` the full one (FUZZ_MAX_EXAMPLES=70,
FUZZ_MIN_CASES=20000, FUZZ_RANDOM=1: new cases each run). A failure names the operation, the
check and a curl command that reproduces it.

Streams are left out (`…/watch` answers for as long as the client listens) and a long poll's
`wait` is capped at 1 s, so that no generated case holds the run up.
"""

from __future__ import annotations

import itertools
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import hypothesis
import pytest
import requests
import schemathesis
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config_service import bootstrap
from config_service.app import DATABASE_REFUSED_DETAIL
from tests.support import (
    ServerProcess,
    clean_env,
    create_database,
    drop_database,
    new_keys,
    unique_id,
)

pytestmark = pytest.mark.slow

MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "4"))
MIN_CASES = int(os.environ.get("FUZZ_MIN_CASES", "0"))
# The bounded pass of `make test` sends the same cases every run (CI stays reproducible); `make fuzz`
# draws new ones each time (FUZZ_RANDOM=1).
RANDOM = os.environ.get("FUZZ_RANDOM", "0") == "1"
MAX_WAIT_SECONDS = 1
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
ALL_SCOPES = ["config:read", "config:write", "secrets:read", "runs:write"]
# Every fourth case keeps the path parameters schemathesis generated (unknown ids, odd characters);
# the others address the fuzzing org's real nodes, runs and schemas, so handlers run to the end.
UNBOUND_EVERY = 4

CASES: Counter[str] = Counter()
STATUSES: Counter[int] = Counter()
_sequence = itertools.count()


@dataclass
class Principal:
    name: str
    token: str
    bindings: dict[str, str] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture(scope="module")
def fuzz_server(pg_admin_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server and database of its own: the fuzzer creates orgs and catalog entries at will."""
    url = create_database(pg_admin_url, prefix="cs_fuzz")
    bootstrap.upgrade(url)
    env = clean_env() | new_keys() | {
        "CONFIG_SERVICE_ENV": "production", "DATABASE_URL": url, "LOG_LEVEL": "WARNING",
        # The fuzzer sends bad credentials and issues tokens by the thousand: limits that throttle
        # failed authentication or token issuing (DESIGN §7) must not turn its cases into 429s.
        "AUTH_FAILURE_LIMIT": "1000000", "TOKEN_ISSUE_BURST": "100000", "TOKEN_ISSUE_PER_MINUTE": "100000",
        "SHORT_LIVED_TOKEN_ISSUE_BURST": "100000", "SHORT_LIVED_TOKEN_ISSUE_PER_MINUTE": "100000",
    }
    server = ServerProcess(env=env, log_path=tmp_path_factory.mktemp("fuzz") / "server.log").start()
    yield server
    server.stop()
    drop_database(pg_admin_url, url)


def _created(response: httpx.Response) -> dict:
    assert response.status_code in (200, 201), response.text
    return response.json()


@pytest.fixture(scope="module")
def principals(fuzz_server: ServerProcess) -> dict[str, Principal]:
    """An org with a team, made through the API, and a token of each kind for it."""
    admin_token = fuzz_server.env["ADMIN_TOKEN"]
    org_id, team = unique_id("fuzz"), "team"
    with httpx.Client(base_url=fuzz_server.api, headers={"Authorization": f"Bearer {admin_token}"}, timeout=30) as api:
        _created(api.post("/admin/orgs", json={"org_id": org_id, "name": "Fuzzing"}))
        _created(api.post(f"/admin/orgs/{org_id}/nodes", json={"node_id": team, "parent_node_id": org_id}))
        _created(api.patch(f"/admin/orgs/{org_id}/nodes/{team}/config", json={"config": {"model": "m", "n": 1}}))
        org_admin = _created(api.post(f"/admin/orgs/{org_id}/admin-tokens", json={"description": "fuzz"}))["token"]
        team_token = _created(
            api.post(f"/admin/orgs/{org_id}/teams/{team}/tokens", json={"description": "fuzz", "scopes": ALL_SCOPES})
        )["token"]
        catalog = _created(api.get("/integrations/schemas"))["items"]
    with httpx.Client(base_url=fuzz_server.api, headers={"Authorization": f"Bearer {team_token}"}, timeout=30) as api:
        run_id = _created(api.post("/agent-runs", json={"agent_name": "fuzz"}))["id"]
    bindings = {"org_id": org_id, "node_id": team, "run_id": run_id}
    if catalog:
        bindings["schema_id"] = catalog[0]["id"]
    return {
        "global_admin": Principal("global_admin", admin_token, bindings),
        "org_admin": Principal("org_admin", org_admin, bindings),
        "team": Principal("team", team_token, bindings),
    }


def fuzzable(document: dict) -> dict:
    """The OpenAPI document without its streams, and with every `wait` capped."""
    document["paths"] = {path: item for path, item in document["paths"].items() if not path.endswith("/watch")}
    for item in document["paths"].values():
        for operation in item.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("name") == "wait":
                    schema = parameter.setdefault("schema", {})
                    for option in schema.get("anyOf", [schema]):
                        if option.get("type") == "number":
                            option["maximum"] = MAX_WAIT_SECONDS
    return document


@pytest.fixture(scope="module")
def api_schema(fuzz_server: ServerProcess) -> schemathesis.BaseSchema:
    document = httpx.get(fuzz_server.url + "/openapi.json", timeout=30).json()
    return schemathesis.openapi.from_dict(fuzzable(document))


@pytest.fixture(scope="module", autouse=True)
def report_cases(request: pytest.FixtureRequest, fuzz_server: ServerProcess) -> Iterator[None]:
    yield
    total = sum(CASES.values())
    by_principal = ", ".join(f"{name} {count}" for name, count in sorted(CASES.items()))
    with request.config.pluginmanager.get_plugin("capturemanager").global_and_fixture_disabled():
        print(f"\nfuzz: {total} cases ({by_principal}), at most {MAX_EXAMPLES} per operation and generation mode; "
              f"answers by status {dict(sorted(STATUSES.items()))}")
    server_errors = [line for line in fuzz_server.log_text().splitlines() if '"level":"error"' in line]
    assert not server_errors, "\n".join(server_errors[:20])
    assert total >= MIN_CASES, f"only {total} cases ran; FUZZ_MIN_CASES={MIN_CASES}"


def bind(case: schemathesis.Case, principal: Principal) -> None:
    """Point most cases at the fuzzing org's real resources. Deletions and revocations keep their
    generated ids, so the org, its team and the tokens of the run outlive it."""
    parameters = case.path_parameters
    if not parameters or case.method.upper() == "DELETE" or case.path.endswith("/revoke"):
        return
    if next(_sequence) % UNBOUND_EVERY == 0:
        return
    for name, value in principal.bindings.items():
        if name in parameters:
            parameters[name] = value


def left_to_the_database(response: requests.Response) -> bool:
    """A 422 the database decided (`app.database_problem`): the value's check is missing, and the
    client is told neither what nor where."""
    if response.status_code != 422:
        return False
    try:
        return response.json().get("detail") == DATABASE_REFUSED_DETAIL
    except ValueError:
        return False


def fuzz_operation(operation, principal: Principal, base_url: str, session: requests.Session) -> dict[str, str]:
    """Hypothesis runs of one operation, valid and invalid data: every distinct failure (operation and
    checks that failed) with the report schemathesis writes for it, which ends in a curl command."""
    failures: dict[str, str] = {}
    # Path parameters are free strings: an operation with nothing else has no invalid form, and
    # Hypothesis would spend seconds to find that out.
    negatable = any(len(part) for part in (operation.query, operation.headers, operation.body))
    modes = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE) if negatable else (GenerationMode.POSITIVE,)
    for mode in modes:

        @hypothesis.settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(hypothesis.HealthCheck),
            phases=[hypothesis.Phase.generate],  # keep going after a failure: every distinct one is reported
            derandomize=not RANDOM,
        )
        @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
        def run(case: schemathesis.Case) -> None:
            bind(case, principal)
            CASES[principal.name] += 1
            response = case.call(base_url=base_url, session=session, headers=principal.headers, timeout=30)
            STATUSES[response.status_code] += 1
            try:
                case.validate_response(response, checks=CHECKS, headers=principal.headers)
            except FailureGroup as group:
                titles = sorted({failure.title for failure in group.exceptions})
                failures.setdefault(f"{operation.label}: {', '.join(titles)}", str(group))
            if left_to_the_database(response):
                curl = case.as_curl_command(principal.headers, base_url=base_url)
                failures.setdefault(
                    f"{operation.label}: a value refused by PostgreSQL, not by the request's checks",
                    f"{response.status_code} {response.text}\n{curl}",
                )

        try:
            run()
        except hypothesis.errors.Unsatisfiable:
            pass  # nothing in this operation can be made invalid (no parameters, no body)
    return failures


def fuzz_as(name: str):
    """The fuzzing test for one principal: every operation, each its Hypothesis runs."""

    def test(api_schema: schemathesis.BaseSchema, principals: dict[str, Principal], fuzz_server: ServerProcess) -> None:
        principal = principals[name]
        failures: dict[str, str] = {}
        with requests.Session() as session:
            for result in api_schema.get_all_operations():
                failures.update(fuzz_operation(result.ok(), principal, fuzz_server.url, session))
        if failures:
            pytest.fail(f"{len(failures)} distinct failures as {name}:\n\n" + "\n\n".join(
                f"== {key}\n{report}" for key, report in failures.items()
            ), pytrace=False)

    test.__doc__ = f"Every generated request, as the {name.replace('_', ' ')}, is answered below 500 and as documented."
    return test


test_every_answer_is_documented_and_below_500_as_global_admin = fuzz_as("global_admin")
test_every_answer_is_documented_and_below_500_as_org_admin = fuzz_as("org_admin")
test_every_answer_is_documented_and_below_500_as_team = fuzz_as("team")


def test_fuzzing_reaches_every_operation_but_the_streams(api_schema: schemathesis.BaseSchema) -> None:
    labels = {result.ok().label for result in api_schema.get_all_operations()}
    assert "PATCH /api/v1/config/me" in labels and "POST /api/v1/agent-runs" in labels
    assert not [label for label in labels if label.endswith("/watch")]
