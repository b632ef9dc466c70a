"""The JSONB note of the seed (DESIGN §3): an in-place change to a JSON column is only saved when
flagged with `flag_modified` (or when a new object is assigned). Proven on the real model and a
real PostgreSQL, with both a sync and an async session."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from config_service.db.urls import sqlalchemy_url
from config_service.models import NodeConfiguration


@pytest.fixture()
def engine(database_url):
    engine = create_engine(sqlalchemy_url(database_url))
    yield engine
    engine.dispose()


def _load(session: Session, org_id: str, node_id: str) -> NodeConfiguration:
    return session.execute(
        select(NodeConfiguration).where(NodeConfiguration.org_id == org_id, NodeConfiguration.node_id == node_id)
    ).scalar_one()


def _stored(db, org_id: str, node_id: str) -> dict:
    return db.execute(
        "SELECT config_json FROM node_configurations WHERE org_id = %s AND node_id = %s", (org_id, node_id)
    ).fetchone()[0]


def test_nested_in_place_change_is_lost_without_flag_modified(org, engine, db):
    org.add_node("sre")
    org.put("sre", {"agents": {"planner": {"model": "gpt-4o"}}})
    with Session(engine) as session, session.begin():
        row = _load(session, org.org_id, "sre")
        row.config_json["agents"]["planner"]["model"] = "o3"  # in place, not flagged
        assert not session.is_modified(row)  # SQLAlchemy cannot see a nested in-place change
    assert _stored(db, org.org_id, "sre") == {"agents": {"planner": {"model": "gpt-4o"}}}


def test_nested_in_place_change_is_saved_with_flag_modified(org, engine, db):
    org.add_node("sre")
    org.put("sre", {"agents": {"planner": {"model": "gpt-4o"}}, "keep": [1, 2]})
    with Session(engine) as session, session.begin():
        row = _load(session, org.org_id, "sre")
        row.config_json["agents"]["planner"]["model"] = "o3"
        row.config_json["agents"]["planner"]["tools"] = {"deploy": True}
        flag_modified(row, "config_json")
        assert session.is_modified(row)
    assert _stored(db, org.org_id, "sre") == {
        "agents": {"planner": {"model": "o3", "tools": {"deploy": True}}},
        "keep": [1, 2],
    }
    # and the service reads what was saved
    assert org.own("sre")["config"]["agents"]["planner"]["model"] == "o3"


def test_assigning_a_new_object_is_saved(org, engine, db):
    org.add_node("sre")
    org.put("sre", {"a": {"b": 1}})
    with Session(engine) as session, session.begin():
        row = _load(session, org.org_id, "sre")
        new = {**row.config_json, "a": {**row.config_json["a"], "c": 2}}
        row.config_json = new
    assert _stored(db, org.org_id, "sre") == {"a": {"b": 1, "c": 2}}


def test_nested_change_with_an_async_session(org, database_url, db):
    org.add_node("sre")
    org.put("sre", {"routing": {"services": ["a"]}})

    async def run(flag: bool) -> None:
        engine = create_async_engine(sqlalchemy_url(database_url))
        try:
            async with async_sessionmaker(engine)() as session, session.begin():
                row = (
                    await session.execute(
                        select(NodeConfiguration).where(
                            NodeConfiguration.org_id == org.org_id, NodeConfiguration.node_id == "sre"
                        )
                    )
                ).scalar_one()
                row.config_json["routing"]["services"].append("b")
                if flag:
                    flag_modified(row, "config_json")
        finally:
            await engine.dispose()

    asyncio.run(run(flag=False))
    assert _stored(db, org.org_id, "sre") == {"routing": {"services": ["a"]}}
    asyncio.run(run(flag=True))
    assert _stored(db, org.org_id, "sre") == {"routing": {"services": ["a", "b"]}}


def test_service_writes_persist_nested_changes(org, db):
    # the service replaces the document with a new object on every write; a deep merge patch
    # must reach the database, not just the session
    org.add_node("sre")
    org.put("sre", {"a": {"b": {"c": {"d": 1}}}})
    org.patch("sre", {"a": {"b": {"c": {"e": 2}}}})
    assert _stored(db, org.org_id, "sre") == {"a": {"b": {"c": {"d": 1, "e": 2}}}}
    version_row = db.execute(
        "SELECT config_json FROM node_config_versions WHERE org_id = %s AND node_id = 'sre' AND version = 3",
        (org.org_id,),
    ).fetchone()[0]
    assert version_row == {"a": {"b": {"c": {"d": 1, "e": 2}}}}
