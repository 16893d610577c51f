package pdrundeck.loader;

import com.dtolabs.rundeck.core.plugins.Plugin;

/**
 * Starts a PagerDuty incident workflow.
 * The behaviour lives in the Python provider of the same name; this
 * class only gives Rundeck a Notification plugin to load.
 */
@Plugin(service = "Notification", name = "pagerduty-start-incident-workflow")
public class StartIncidentWorkflowNotification extends PagerDutyNotification {
}
