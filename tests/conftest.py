"""Fixtures: one real PostgreSQL database and one real server process for the session.

Every test works in orgs of its own (unique ids), so tests never see each other's data.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest

from config_service import bootstrap
from config_service.db.urls import libpq_url
from tests.support import (
    ServerProcess,
    admin_database_url,
    clean_env,
    create_database,
    drop_database,
    new_keys,
    unique_id,
)


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    return admin_database_url()


@pytest.fixture(scope="session")
def database_url(pg_admin_url: str) -> Iterator[str]:
    url = create_database(pg_admin_url)
    bootstrap.upgrade(url)
    yield url
    drop_database(pg_admin_url, url)


@pytest.fixture()
def fresh_database(pg_admin_url: str) -> Iterator[str]:
    """An empty database of its own (no schema), dropped afterwards."""
    url = create_database(pg_admin_url, prefix="cs_fresh")
    yield url
    drop_database(pg_admin_url, url)


@pytest.fixture(scope="session")
def server_keys() -> dict[str, str]:
    return new_keys()


@pytest.fixture(scope="session")
def server(database_url: str, server_keys: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = clean_env() | server_keys | session_server_env(database_url)
    proc = ServerProcess(env=env, log_path=tmp_path_factory.mktemp("server") / "server.log").start()
    yield proc
    proc.stop()


NAMED_CALLERS = "agent,orchestrator,slack-bot,cleanup-job"


def session_server_env(database_url: str) -> dict[str, str]:
    """The settings of the session's servers (the plain one and the named-caller one)."""
    return {
        "CONFIG_SERVICE_ENV": "production",
        "DATABASE_URL": database_url,
        "LAST_USED_FLUSH_SECONDS": "0.5",
        # every test speaks from 127.0.0.1 and thousands of them are refused on purpose; the
        # throttle itself is tested on a server of its own (test_auth_throttle.py)
        "AUTH_FAILURE_LIMIT": "1000000",
        "LOG_LEVEL": "INFO",
    }


@pytest.fixture(scope="session")
def named_server(database_url: str, server_keys: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A second server on the same database with IncidentFox's named internal callers on (DESIGN
    §4): the test client connects from 127.0.0.1, inside the trusted network."""
    env = clean_env() | server_keys | session_server_env(database_url) | {
        "INTERNAL_SERVICE_NAMES": NAMED_CALLERS,
        "INTERNAL_SERVICE_TRUSTED_NETWORKS": "127.0.0.0/8, ::1/128",
    }
    proc = ServerProcess(env=env, log_path=tmp_path_factory.mktemp("named") / "server.log").start()
    yield proc
    proc.stop()


@pytest.fixture()
def db(database_url: str) -> Iterator[psycopg.Connection]:
    """A direct autocommit connection to the server's database, for assertions on rows."""
    with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
        yield conn


@pytest.fixture(scope="session")
def anon(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.api, timeout=30) as client:
        yield client


@pytest.fixture(scope="session")
def admin(server: ServerProcess, server_keys: dict[str, str]) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=server.api, timeout=30, headers={"Authorization": f"Bearer {server_keys['ADMIN_TOKEN']}"}
    ) as client:
        yield client


@pytest.fixture(scope="session")
def internal(server: ServerProcess, server_keys: dict[str, str]) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=server.api, timeout=30, headers={"Authorization": f"Bearer {server_keys['INTERNAL_SERVICE_TOKEN']}"}
    ) as client:
        yield client


@dataclass
class Org:
    """An org made for one test, with helpers that go through the real API."""

    org_id: str
    admin: httpx.Client
    server: ServerProcess

    def add_node(self, node_id: str, parent: str | None = None, **extra) -> dict:
        body = {"node_id": node_id, "parent_node_id": parent or self.org_id, **extra}
        response = self.admin.post(f"/admin/orgs/{self.org_id}/nodes", json=body)
        assert response.status_code == 201, response.text
        return response.json()

    def token(self, node_id: str, scopes: list[str] | None = None, **extra) -> str:
        body: dict = {"description": "test", **extra}
        if scopes is not None:
            body["scopes"] = scopes
        response = self.admin.post(f"/admin/orgs/{self.org_id}/teams/{node_id}/tokens", json=body)
        assert response.status_code == 201, response.text
        return response.json()["token"]

    def client(self, token: str) -> httpx.Client:
        return httpx.Client(base_url=self.server.api, timeout=30, headers={"Authorization": f"Bearer {token}"})

    def team_client(self, node_id: str, scopes: list[str] | None = None) -> httpx.Client:
        return self.client(self.token(node_id, scopes))

    def admin_token(self) -> str:
        response = self.admin.post(f"/admin/orgs/{self.org_id}/admin-tokens", json={"description": "test"})
        assert response.status_code == 201, response.text
        return response.json()["token"]

    def node_path(self, node_id: str) -> str:
        return f"/admin/orgs/{self.org_id}/nodes/{node_id}"

    def patch(self, node_id: str, config: dict, **extra) -> httpx.Response:
        return self.admin.patch(self.node_path(node_id) + "/config", json={"config": config, **extra})

    def put(self, node_id: str, config: dict, **extra) -> httpx.Response:
        return self.admin.put(self.node_path(node_id) + "/config", json={"config": config, **extra})

    def effective(self, node_id: str) -> dict:
        response = self.admin.get(self.node_path(node_id) + "/effective")
        assert response.status_code == 200, response.text
        return response.json()["effective_config"]

    def own(self, node_id: str) -> dict:
        response = self.admin.get(self.node_path(node_id) + "/config")
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture()
def org(admin: httpx.Client, server: ServerProcess) -> Org:
    org_id = unique_id("org")
    response = admin.post("/admin/orgs", json={"org_id": org_id, "name": f"Org {org_id}"})
    assert response.status_code == 201, response.text
    return Org(org_id=org_id, admin=admin, server=server)


@pytest.fixture()
def make_org(admin: httpx.Client, server: ServerProcess):
    def make(prefix: str = "org") -> Org:
        org_id = unique_id(prefix)
        response = admin.post("/admin/orgs", json={"org_id": org_id})
        assert response.status_code == 201, response.text
        return Org(org_id=org_id, admin=admin, server=server)

    return make


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
