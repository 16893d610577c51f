package pdrundeck.harness;

import com.dtolabs.rundeck.core.common.PropertyRetriever;
import com.dtolabs.rundeck.core.dispatcher.DataContextUtils;
import com.dtolabs.rundeck.core.plugins.configuration.AcceptsServices;
import com.dtolabs.rundeck.core.plugins.configuration.DescribableServiceUtil;
import com.dtolabs.rundeck.core.plugins.configuration.Description;
import com.dtolabs.rundeck.core.plugins.configuration.PluginAdapterUtility;
import com.dtolabs.rundeck.core.plugins.configuration.PropertyResolver;
import com.dtolabs.rundeck.core.plugins.configuration.PropertyResolverFactory;
import com.dtolabs.rundeck.core.plugins.configuration.PropertyScope;
import com.dtolabs.rundeck.core.plugins.configuration.Validator;
import com.dtolabs.rundeck.plugins.ServiceNameConstants;
import com.dtolabs.rundeck.plugins.notification.NotificationPlugin;
import org.rundeck.app.spi.Services;

import java.util.HashMap;
import java.util.Map;

/**
 * NotificationService.triggerPlugin and PluginService.configurePlugin (rundeckapp,
 * not published) redone with the rundeck-core calls they make: expand ${...} in the
 * job's config, blank values to null, resolve instance, project, framework and
 * default values, validate, configure, hand over the Services, then call
 * postNotification with the resolved config.
 */
final class NotificationCall {
    private final String provider;
    private final PropertyRetriever project;
    private final PropertyRetriever framework;
    private final Services services;

    NotificationCall(String provider, PropertyRetriever project,
            PropertyRetriever framework, Services services) {
        this.provider = provider;
        this.project = project;
        this.framework = framework;
        this.services = services;
    }

    boolean trigger(NotificationPlugin plugin, String trigger, Map<String, Object> data,
            Map<String, Object> jobConfig) throws HarnessException {
        Description description =
                DescribableServiceUtil.descriptionForProvider(true, plugin);
        if (description == null) {
            throw new HarnessException(provider + " gives no Description");
        }
        Map<String, Object> config = expanded(jobConfig, data);
        PropertyResolver resolver = PropertyResolverFactory.pluginPrefixedScoped(
                PropertyResolverFactory.instanceRetriever(config), project, framework)
                .create(ServiceNameConstants.Notification, description);

        Validator.Report report =
                Validator.validate(resolver, description, PropertyScope.Instance, null);
        if (!report.isValid()) {
            // PluginService logs this and NotificationService reports a failure.
            System.err.println("harness: Notification: configuration was not valid for"
                    + " plugin '" + provider + "': " + report.getErrors());
            return false;
        }
        PluginAdapterUtility.configureProperties(
                resolver, description, plugin, PropertyScope.Instance);
        if (plugin instanceof AcceptsServices) {
            ((AcceptsServices) plugin).setServices(services);
        }
        Map<String, Object> resolved = PluginAdapterUtility.mapDescribedProperties(
                resolver, description, PropertyScope.Instance);
        return plugin.postNotification(trigger, data, resolved);
    }

    /** Job config values are text; a ${...} that does not resolve stays literal. */
    private static Map<String, Object> expanded(Map<String, Object> jobConfig,
            Map<String, Object> data) {
        Map<String, Object> text = new HashMap<>();
        jobConfig.forEach((k, v) -> text.put(k, v == null ? null : v.toString()));
        Map<String, Object> config = DataContextUtils.replaceDataReferences(
                text, ExecutionData.notificationContext(data), null, false, false);
        config.replaceAll((k, v) -> v == null || v.toString().isEmpty() ? null : v);
        return config;
    }
}
