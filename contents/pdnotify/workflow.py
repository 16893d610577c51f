"""pagerduty-start-incident-workflow: start a workflow on an incident."""

from __future__ import annotations

import logging

from . import rest
from .env import Invocation
from .transport import Sender

log = logging.getLogger(__name__)

STEP = "start incident workflow"


def run(inv: Invocation) -> int:
    """POST /incident_workflows/{id}/instances; never started twice."""
    checked = rest.rest_settings(inv)
    workflow = rest.required_id(inv.config, "workflow_id")
    sender = Sender(STEP, checked.timeout, network=checked.network)
    incident = rest.incident(checked, sender)
    body = {"incident_workflow_instance": {
        "incident": {"id": incident, "type": "incident_reference"}}}
    url = "%s/incident_workflows/%s/instances" % (
        checked.api_url, rest.path_id(workflow))
    reply = sender.request("POST", url, body, rest.headers(checked, None),
                           once=True)
    instance = reply.body.get("incident_workflow_instance") if isinstance(
        reply.body, dict) else None
    log.info("%s: workflow %s started on incident %s (instance %s, "
             "status %d)", STEP, workflow, incident,
             (instance or {}).get("id", "?"), reply.status)
    return 0
