package pdrundeck.harness;

import com.dtolabs.rundeck.core.plugins.BasePluggableProviderService;
import com.dtolabs.rundeck.core.plugins.ServiceProviderLoader;
import com.dtolabs.rundeck.plugins.ServiceNameConstants;
import com.dtolabs.rundeck.plugins.notification.NotificationPlugin;

/**
 * Rundeck's NotificationPluginProviderService lives in rundeckapp, which is not
 * published; like it, this is the rundeck-core base service for NotificationPlugin
 * backed by a plugin manager. It accepts jar plugins only (JavaClassProviderLoadable).
 */
final class NotificationProviderService
        extends BasePluggableProviderService<NotificationPlugin> {
    private final ServiceProviderLoader pluginManager;

    NotificationProviderService(ServiceProviderLoader pluginManager) {
        super(ServiceNameConstants.Notification, NotificationPlugin.class);
        this.pluginManager = pluginManager;
    }

    @Override
    public ServiceProviderLoader getPluginManager() {
        return pluginManager;
    }
}
