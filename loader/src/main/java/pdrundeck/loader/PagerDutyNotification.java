/*
 * Why this loader exists
 * ----------------------
 * Rundeck only runs script plugins (a zip with plugin.yaml and a script) for the
 * services that implement ScriptPluginProviderLoadable, and Notification is not one
 * of them, in any Rundeck version: a script zip declaring a Notification provider is
 * listed but never loads (docs/rundeck.md, section 0). Java jar plugins do load.
 *
 * So the providers keep the script-plugin shape (plugin.yaml, a Python entrypoint
 * reading RD_* variables), and this small jar plugin does for Notification what
 * Rundeck does for script plugins of other services: it describes each provider
 * from the bundled descriptor, extracts the bundled Python tree, exports the
 * notification as RD_* environment variables and runs
 * "<script-interpreter> <script-file> <script-args>", returning true only on exit
 * status 0. All product logic stays in Python; keep this side generic.
 */
package pdrundeck.loader;

import com.dtolabs.rundeck.core.plugins.Plugin;
import com.dtolabs.rundeck.core.plugins.configuration.AcceptsServices;
import com.dtolabs.rundeck.core.plugins.configuration.Describable;
import com.dtolabs.rundeck.core.plugins.configuration.Description;
import com.dtolabs.rundeck.plugins.notification.NotificationPlugin;
import com.dtolabs.rundeck.plugins.util.DescriptionBuilder;
import org.rundeck.app.spi.Services;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

import static pdrundeck.loader.ScriptProcess.LOG;

/**
 * Shared body of the Notification providers. A subclass only carries the
 * {@code @Plugin} annotation that names its provider.
 */
public abstract class PagerDutyNotification
        implements NotificationPlugin, Describable, AcceptsServices {

    static final int DEFAULT_TIMEOUT = 60;
    static final int MAX_TIMEOUT = 600;
    /** What settings.py accepts for "timeout"; [0-9] is ASCII-only in Java too. */
    private static final Pattern TIMEOUT_DIGITS = Pattern.compile("[0-9]{1,3}");
    /** Time beyond the script's own timeout for Python start-up and clean exit. */
    static final int GRACE_SECONDS = 15;

    /** Rundeck makes an instance per use: cache descriptions per class loader. */
    private static final Map<String, Description> DESCRIPTIONS =
            new ConcurrentHashMap<>();

    private volatile Services services;

    /** The provider name from this class's {@code @Plugin} annotation. */
    public final String providerName() {
        Plugin plugin = getClass().getAnnotation(Plugin.class);
        return plugin != null ? plugin.name() : getClass().getSimpleName();
    }

    @Override
    public Description getDescription() {
        return DESCRIPTIONS.computeIfAbsent(
                providerName(), PagerDutyNotification::describe);
    }

    /**
     * Rundeck calls this right after configuring the instance. The Services give
     * Key Storage (KeyStorageTree) with the executing user's authorization; see
     * StoredSecrets for the properties read through it.
     */
    @Override
    public void setServices(Services services) {
        this.services = services;
    }

    protected Services getServices() {
        return services;
    }

    @Override
    public boolean postNotification(String trigger, Map executionData, Map config) {
        String provider = providerName();
        try {
            return notify(provider, trigger, orEmpty(executionData), orEmpty(config));
        } catch (LoaderException e) {
            LOG.error("{}: notification failed: {}", provider, e.getMessage());
        } catch (RuntimeException | LinkageError e) {
            // Only the type and place: a foreign message might quote a value.
            StackTraceElement[] at = e.getStackTrace();
            LOG.error("{}: notification failed: {}{}", provider, e.getClass().getName(),
                    at.length > 0 ? " at " + at[0] : "");
        }
        return false;
    }

    private boolean notify(String provider, String trigger, Map<?, ?> executionData,
            Map<?, ?> config) throws LoaderException {
        Descriptor descriptor = Descriptor.bundled();
        if (!descriptor.hasProvider(provider)) {
            throw new LoaderException("this build of the plugin has no " + provider);
        }
        // Fails on a broken descriptor, rather than running without the properties.
        Description description = descriptor.describe(provider);
        Set<String> secrets = StoredSecrets.secretProperties(description);
        // First of all: a secure option pasted into a property goes no further.
        Map<Object, Object> masked =
                SecureOptions.mask(provider, config, executionData, secrets);
        // Key Storage paths become their secrets, or nothing runs at all.
        Map<Object, Object> withSecrets =
                StoredSecrets.resolve(description, masked, services);
        Path contents = Bundle.bundled().contentsDir();
        Path script = scriptPath(contents, descriptor.scriptFile(provider));
        // The command line gets the configured values: a secret in argv would show
        // in every process listing. Secrets travel in the environment only.
        List<String> command = ScriptCommand.build(descriptor.interpreter(provider),
                script, descriptor.scriptArgs(provider), masked);
        Map<String, String> contract = contract(
                provider, String.valueOf(trigger), executionData, withSecrets, secrets);
        int timeout = timeoutSeconds(config.get("timeout"));
        LOG.debug("{}: running {} for trigger {}",
                provider, script.getFileName(), trigger);
        return ScriptProcess.run(provider, command, contents, contract,
                timeout + GRACE_SECONDS);
    }

    private static Path scriptPath(Path contents, String scriptFile)
            throws LoaderException {
        if (scriptFile == null || scriptFile.trim().isEmpty()) {
            throw new LoaderException("the descriptor names no script-file");
        }
        Path script = contents.resolve(scriptFile.trim()).normalize();
        if (!script.startsWith(contents)
                || !Files.isRegularFile(script, LinkOption.NOFOLLOW_LINKS)) {
            throw new LoaderException("script file was not found: " + script);
        }
        return script;
    }

    /** The RD_* variables, kept to what a process can be started with. */
    private static Map<String, String> contract(String provider, String trigger,
            Map<?, ?> executionData, Map<?, ?> config, Set<String> secrets) {
        Map<String, String> contract =
                ScriptEnvironment.contract(trigger, executionData, config);
        Set<String> whole = new HashSet<>();
        for (String property : secrets) {
            whole.add(ScriptEnvironment.name("config", property));
        }
        SecureOptions.maskContract(provider, contract, executionData, whole);
        ContractBounds.apply(provider, contract, whole);
        return contract;
    }

    /**
     * The "timeout" property in seconds, read as the Python side reads it: one to
     * three ASCII digits once stripped. Integer.parseInt would also take "+5",
     * "0005" or digits of other scripts, which Python refuses, and the two sides
     * would disagree on the limit. Anything else is 60; the result is kept to 1..600.
     */
    static int timeoutSeconds(Object value) {
        String text = value == null ? "" : stripped(value.toString());
        int seconds = TIMEOUT_DIGITS.matcher(text).matches()
                ? Integer.parseInt(text) : DEFAULT_TIMEOUT;
        return Math.max(1, Math.min(MAX_TIMEOUT, seconds));
    }

    /** Python's str.strip(): its white space is Java's, plus the Unicode spaces. */
    private static String stripped(String text) {
        int start = 0;
        int end = text.length();
        while (start < end && isPythonSpace(text.charAt(start))) {
            start++;
        }
        while (end > start && isPythonSpace(text.charAt(end - 1))) {
            end--;
        }
        return text.substring(start, end);
    }

    private static boolean isPythonSpace(char c) {
        return Character.isWhitespace(c) || Character.isSpaceChar(c) || c == '\u0085';
    }

    private static Description describe(String provider) {
        try {
            Descriptor descriptor = Descriptor.bundled();
            if (descriptor.hasProvider(provider)) {
                return descriptor.describe(provider);
            }
            LOG.warn("{}: not in this build's descriptor; it cannot run", provider);
        } catch (LoaderException e) {
            LOG.error("{}: cannot describe the provider: {}", provider, e.getMessage());
        }
        // A bare description still lets Rundeck list the plugin instead of failing.
        return DescriptionBuilder.builder()
                .name(provider)
                .title(provider)
                .description("Unavailable in this build of the plugin.")
                .build();
    }

    private static Map<?, ?> orEmpty(Map<?, ?> map) {
        return map != null ? map : Collections.emptyMap();
    }
}
