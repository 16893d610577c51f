package pdrundeck.loader;

import com.dtolabs.rundeck.core.plugins.Plugin;

/**
 * Sends a PagerDuty Events API v2 event.
 * The behaviour lives in the Python provider of the same name; this
 * class only gives Rundeck a Notification plugin to load.
 */
@Plugin(service = "Notification", name = "pagerduty-send-event")
public class SendEventNotification extends PagerDutyNotification {
}
