package pdrundeck.loader;

import com.dtolabs.rundeck.core.plugins.Plugin;

/**
 * Escalates a PagerDuty incident.
 * The behaviour lives in the Python provider of the same name; this
 * class only gives Rundeck a Notification plugin to load.
 */
@Plugin(service = "Notification", name = "pagerduty-escalate-incident")
public class EscalateIncidentNotification extends PagerDutyNotification {
}
