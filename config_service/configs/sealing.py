"""What a write's new own config must pass before it is stored: masks resolved, forged
envelopes refused, integration fields checked against the catalog, new secrets sealed, and no
credential redirected away from the node that supplies it (DESIGN §8)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from config_service.configs import repository
from config_service.configs.merge import Layer, effective_chain
from config_service.errors import AppError, InvalidConfig, SecretRebindRequired
from config_service.integrations import service as integrations
from config_service.integrations.validation import (
    IntegrationError,
    changed_integrations,
    check_write,
)
from config_service.integrations.validation import rebind_problem as rebind_problem_of
from config_service.keys import ConfigKeys
from config_service.kit import secret_leaves
from config_service.secrets import service as vaults


async def settle_and_seal(
    session: AsyncSession,
    keys: ConfigKeys,
    org_id: str,
    node: repository.LineageHead,
    old_own: dict[str, Any],
    new_own: dict[str, Any],
    *,
    from_history: bool,
    dry_run: bool = False,
    lenient: bool = False,
) -> tuple[dict[str, Any], list[tuple[str, str]], dict[str, list[dict[str, Any]]]]:
    """Masks resolved, integration fields checked against the catalog, every new secret sealed.

    Returns the new own config (only envelopes, never a plaintext secret), the endpoint fields
    the write sets and the catalog it was checked against. A rollback's content comes from this
    node's own history, so its envelopes are this node's and are not "forged". `dry_run` seals
    nothing (and creates no key): each new secret becomes a placeholder envelope, masked in views
    (previews, in read-only transactions). `lenient` (the compat mount's writes) keeps integration
    fields the catalog lacks (`integrations.validation.unknown_field`)."""
    try:
        if not from_history:
            new_own = secret_leaves.settle_incoming(new_own, old_own)
        ids = changed_integrations(old_own, new_own)
        catalog = await integrations.catalog_for(session, ids, for_write=not dry_run) if ids else {}
        to_seal, endpoints = check_write(old_own, new_own, catalog, lenient=lenient)
        requests = secret_leaves.secret_requests(new_own) + to_seal
    except secret_leaves.SecretWriteError as exc:
        raise InvalidConfig(str(exc), path=exc.path) from None
    except IntegrationError as exc:
        raise InvalidConfig(str(exc), path=exc.path) from None
    if dry_run:
        placeholders = [(tokens, f"{secret_leaves.ENVELOPE_PREFIX}v1:dry-run:{i}") for i, (tokens,
            _) in enumerate(requests)]
        return secret_leaves.with_leaves(new_own, placeholders), endpoints, catalog
    sealed = await vaults.seal_requests(session, keys.secrets, org_id, str(node.node_uid), new_own, requests)
    return sealed, endpoints, catalog


def rebind_problem(
    layers: list[Layer],
    new_own: dict[str, Any],
    endpoints: list[tuple[str, str]],
    catalog: dict[str, list[dict[str, Any]]],
) -> AppError | None:
    """422 `secret_rebind_required` when an endpoint field set at the node (`layers[-1]`) would send
    a secret supplied above it somewhere new."""
    if not endpoints:
        return None
    node = layers[-1]
    chain = effective_chain([*layers[:-1], Layer(node.node_id, new_own, node.locked_paths)])
    problem = rebind_problem_of(chain, endpoints, catalog)
    if problem is not None:
        return SecretRebindRequired(problem[1], path=problem[0])
    return None
