"""The built-in integration catalog, as data: installed and kept current by `db upgrade`.

Field names follow each vendor's public API documentation (what the API calls the credential,
the header or the base URL it is sent to). `secret` fields are sealed at rest; `endpoint`
fields say where credentials go (a team below the node that holds the secret cannot repoint them).
"""

from __future__ import annotations

from typing import Any


def _f(
    name: str,
    type_: str,
    display_name: str,
    description: str,
    example: Any,
    *,
    required: bool = False,
    secret: bool = False,
    endpoint: bool = False,
    options: list[str] | None = None,
) -> dict[str, Any]:
    field: dict[str, Any] = {
        "name": name,
        "type": type_,
        "required": required,
        "display_name": display_name,
        "description": description,
        "secret": secret,
        "endpoint": endpoint,
        "example": example,
    }
    if options is not None:
        field["options"] = options
    return field


def _i(id_: str, name: str, category: str, description: str, fields: list[dict[str, Any]]) -> dict[str, Any]:
    return {"id": id_, "name": name, "category": category, "description": description, "logo_url": None,
        "fields": fields}


BUILT_IN: list[dict[str, Any]] = [
    _i("coralogix", "Coralogix", "observability", "Logs, metrics and traces (DataPrime queries, alerts).", [
        _f("api_key", "string", "API Key", "Coralogix Personal API Key", "cxup_9f8e7d6c5b4a", required=True,
            secret=True),
        _f("domain", "string", "Domain", "Coralogix domain (e.g. cx498.coralogix.com)", "cx498.coralogix.com",
           required=True, endpoint=True),
        _f("team_id", "integer", "Team ID", "Numeric id of the Coralogix team", 48211),
    ]),
    _i("slack", "Slack", "communication", "Post to channels and read threads with a Slack app.", [
        _f("bot_token", "string", "Bot token", "Bot User OAuth Token (xoxb-…)", "xoxb-1234-5678-abcdef",
           required=True, secret=True),
        _f("signing_secret", "string", "Signing secret", "Verifies requests Slack sends to the app",
           "8f14e45fceea167a5a36dedd4bea2543", secret=True),
        _f("app_token", "string", "App-level token", "App-Level Token for Socket Mode (xapp-…)", "xapp-1-A0-1-abc",
           secret=True),
        _f("default_channel_id", "string", "Default channel", "Channel ID posted to by default", "C0123456789"),
    ]),
    _i("datadog", "Datadog", "observability", "Metrics, logs, monitors and incidents via the Datadog API.", [
        _f("api_key", "string", "API key", "Sent as DD-API-KEY", "0123456789abcdef0123456789abcdef",
           required=True, secret=True),
        _f("app_key", "string", "Application key", "Sent as DD-APPLICATION-KEY (needed to read data)",
           "0123456789abcdef0123456789abcdef01234567", required=True, secret=True),
        _f("site", "enum", "Site", "The Datadog site of the account", "datadoghq.com", endpoint=True,
           options=["datadoghq.com", "us3.datadoghq.com", "us5.datadoghq.com", "datadoghq.eu", "ap1.datadoghq.com",
                    "ddog-gov.com"]),
    ]),
    _i("grafana", "Grafana", "observability", "Dashboards, alerts and data-source queries via the Grafana HTTP API.", [
        _f("url", "url", "Grafana URL", "Base URL of the Grafana instance", "https://acme.grafana.net",
           required=True, endpoint=True),
        _f("service_account_token", "string", "Service account token", "Bearer token of a service account (glsa_…)",
           "glsa_AbCdEf0123456789_abcdef01", required=True, secret=True),
        _f("org_id", "integer", "Organization ID", "Sent as X-Grafana-Org-Id", 1),
    ]),
    _i("pagerduty", "PagerDuty", "incident_management", "Incidents, services and on-call via the PagerDuty REST API.", [
        _f("api_key", "string", "REST API key", "Sent as 'Authorization: Token token=…'", "u+AbCdEfGhIjKlMnOpQr",
           required=True, secret=True),
        _f("from_email", "email", "From email", "A PagerDuty user's email, the From header of write calls",
           "oncall@example.com"),
        _f("routing_key", "string", "Events routing key", "Integration key for the Events API v2",
           "R0123456789ABCDEF0123456789ABCDE", secret=True),
        _f("api_url", "url", "API URL", "https://api.pagerduty.com or https://api.eu.pagerduty.com",
           "https://api.pagerduty.com", endpoint=True),
    ]),
    _i("github", "GitHub", "source_control", "Repositories, pull requests, deployments via the GitHub REST API.", [
        _f("token", "string", "Token", "Fine-grained personal access token or installation token",
           "github_pat_11ABCDEFG0123456789_abcdef", required=True, secret=True),
        _f("api_url", "url", "API URL", "https://api.github.com, or https://HOST/api/v3 for GitHub Enterprise Server",
           "https://api.github.com", endpoint=True),
        _f("organization", "string", "Organization", "The GitHub organization (owner) of the repositories", "acme"),
    ]),
    _i("opsgenie", "Opsgenie", "incident_management", "Alerts, schedules and on-call via the Opsgenie API.", [
        _f("api_key", "string", "API key", "Sent as 'Authorization: GenieKey …'",
            "eb243592-faa2-4ba2-a551-1afdf565c889",
           required=True, secret=True),
        _f("api_url", "url", "API URL", "https://api.opsgenie.com or https://api.eu.opsgenie.com",
           "https://api.opsgenie.com", endpoint=True),
    ]),
    _i("incident_io", "incident.io", "incident_management", "Incidents, alerts and catalog via the incident.io API.", [
        _f("api_key", "string", "API key", "Bearer API key from Settings → API keys", "inc_live_0123456789abcdef",
           required=True, secret=True),
    ]),
    _i("sentry", "Sentry", "observability", "Issues and events via the Sentry web API.", [
        _f("auth_token", "string", "Auth token", "Organization or internal-integration auth token (Bearer)",
           "sntrys_eyJpYXQiOjE2OTQ", required=True, secret=True),
        _f("organization_slug", "string", "Organization slug", "The organization's slug in API paths", "acme",
           required=True),
        _f("base_url", "url", "Base URL", "https://sentry.io, a region (https://de.sentry.io) or self-hosted",
           "https://sentry.io", endpoint=True),
    ]),
    _i("new_relic", "New Relic", "observability", "NRQL queries and entities via NerdGraph.", [
        _f("api_key", "string", "User API key", "User key (NRAK-…), sent as API-Key",
            "NRAK-ABCDEFGHIJKLMNOPQRSTUVWXYZ0",
           required=True, secret=True),
        _f("account_id", "integer", "Account ID", "The account NRQL queries run in", 1234567, required=True),
        _f("region", "enum", "Region", "US (api.newrelic.com) or EU (api.eu.newrelic.com)", "US", endpoint=True,
           options=["US", "EU"]),
    ]),
    _i("openai", "OpenAI", "llm", "Models via the OpenAI API.", [
        _f("api_key", "string", "API key", "Bearer API key (sk-…)", "sk-proj-0123456789abcdef", required=True,
           secret=True),
        _f("organization", "string", "Organization ID", "Sent as OpenAI-Organization", "org-0123456789abcdef"),
        _f("project", "string", "Project ID", "Sent as OpenAI-Project", "proj_0123456789abcdef"),
        _f("base_url", "url", "Base URL", "API base URL (a proxy or Azure-compatible gateway)",
           "https://api.openai.com/v1", endpoint=True),
    ]),
    _i("anthropic", "Anthropic", "llm", "Claude models via the Anthropic API.", [
        _f("api_key", "string", "API key", "Sent as x-api-key (sk-ant-…)", "sk-ant-api03-0123456789abcdef",
           required=True, secret=True),
        _f("base_url", "url", "Base URL", "API base URL", "https://api.anthropic.com", endpoint=True),
    ]),
    _i("aws", "Amazon Web Services", "cloud", "AWS APIs (CloudWatch, EC2, ECS, …) with SigV4 credentials.", [
        _f("access_key_id", "string", "Access key ID", "AWS access key ID", "AKIAIOSFODNN7EXAMPLE", required=True),
        _f("secret_access_key", "string", "Secret access key", "AWS secret access key",
           "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", required=True, secret=True),
        _f("session_token", "string", "Session token", "For temporary credentials (STS)", "FwoGZXIvYXdzEXAMPLE",
           secret=True),
        _f("region", "string", "Region", "Default region", "us-east-1", required=True),
        _f("role_arn", "string", "Role ARN", "A role to assume with these credentials",
           "arn:aws:iam::123456789012:role/sre-agent"),
        _f("endpoint_url", "url", "Endpoint URL", "A custom endpoint (VPC endpoint, LocalStack)",
           "https://vpce-0123.monitoring.us-east-1.vpce.amazonaws.com", endpoint=True),
    ]),
    _i("kubernetes", "Kubernetes", "cloud", "Cluster state and workloads via the Kubernetes API server.", [
        _f("api_server", "url", "API server", "URL of the cluster's API server", "https://k8s.example.com:6443",
           required=True, endpoint=True),
        _f("token", "string", "Bearer token", "Service account token", "eyJhbGciOiJSUzI1NiIsImtpZCI6IkV4YW1wbGUifQ",
           required=True, secret=True),
        _f("certificate_authority_data", "string", "CA certificate", "Base64 PEM of the cluster CA",
           "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t"),
        _f("namespace", "string", "Namespace", "Default namespace", "default"),
        _f("insecure_skip_tls_verify", "boolean", "Skip TLS verification", "Do not verify the server certificate",
            False),
    ]),
    _i("jira", "Jira", "project_management", "Issues and projects via the Jira Cloud REST API.", [
        _f("base_url", "url", "Site URL", "The Jira site", "https://acme.atlassian.net", required=True, endpoint=True),
        _f("email", "email", "Account email", "Email of the account the API token belongs to", "sre-bot@example.com",
           required=True),
        _f("api_token", "string", "API token", "Atlassian API token (basic auth with the email)",
           "ATATT3xFfGF0abcdef0123456789", required=True, secret=True),
        _f("project_key", "string", "Project key", "Default project for new issues", "OPS"),
    ]),
    _i("confluence", "Confluence", "knowledge", "Runbooks and pages via the Confluence Cloud REST API.", [
        _f("base_url", "url", "Site URL", "The Confluence site", "https://acme.atlassian.net/wiki", required=True,
           endpoint=True),
        _f("email", "email", "Account email", "Email of the account the API token belongs to", "sre-bot@example.com",
           required=True),
        _f("api_token", "string", "API token", "Atlassian API token (basic auth with the email)",
           "ATATT3xFfGF0abcdef0123456789", required=True, secret=True),
        _f("space_keys", "string_list", "Spaces", "Spaces the agent may search", ["SRE", "RUNBOOKS"]),
    ]),
    _i("prometheus", "Prometheus", "observability", "PromQL queries via the Prometheus HTTP API.", [
        _f("url", "url", "Server URL", "Base URL of Prometheus (or a compatible API)", "https://prometheus.example.com",
           required=True, endpoint=True),
        _f("bearer_token", "string", "Bearer token", "Sent as Authorization: Bearer", "prom-0123456789abcdef",
           secret=True),
        _f("timeout_seconds", "number", "Query timeout", "Seconds before a query is abandoned", 30.0),
    ]),
    _i("gitlab", "GitLab", "source_control", "Projects, merge requests and pipelines via the GitLab REST API.", [
        _f("token", "string", "Access token", "Personal, group or project access token (PRIVATE-TOKEN)",
           "glpat-0123456789abcdefghij", required=True, secret=True),
        _f("url", "url", "GitLab URL", "https://gitlab.com or a self-managed instance", "https://gitlab.com",
           endpoint=True),
    ]),
]
