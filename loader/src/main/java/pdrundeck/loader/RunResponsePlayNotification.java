package pdrundeck.loader;

import com.dtolabs.rundeck.core.plugins.Plugin;

/**
 * Runs a PagerDuty response play.
 * The behaviour lives in the Python provider of the same name; this
 * class only gives Rundeck a Notification plugin to load.
 */
@Plugin(service = "Notification", name = "pagerduty-run-response-play")
public class RunResponsePlayNotification extends PagerDutyNotification {
}
