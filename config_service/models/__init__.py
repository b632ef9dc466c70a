"""ORM tables, one module each. Importing this package registers every table on `Base.metadata`."""

from config_service.models.agent_run import AgentRun
from config_service.models.agent_tool_call import AgentToolCall
from config_service.models.audit_event import AuditEvent
from config_service.models.base import Base
from config_service.models.integration_schema import IntegrationSchema
from config_service.models.node_config_version import NodeConfigVersion
from config_service.models.node_configuration import NodeConfiguration
from config_service.models.org_admin_token import OrgAdminToken
from config_service.models.org_key import OrgKey
from config_service.models.org_node import OrgNode
from config_service.models.routing_key import RoutingKey
from config_service.models.team_token import TeamToken

__all__ = [
    "AgentRun",
    "AgentToolCall",
    "AuditEvent",
    "Base",
    "IntegrationSchema",
    "NodeConfigVersion",
    "NodeConfiguration",
    "OrgAdminToken",
    "OrgKey",
    "OrgNode",
    "RoutingKey",
    "TeamToken",
]
