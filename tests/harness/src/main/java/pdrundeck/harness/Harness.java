package pdrundeck.harness;

import com.dtolabs.rundeck.core.plugins.ProviderIdent;
import com.dtolabs.rundeck.core.plugins.configuration.DescribableServiceUtil;
import com.dtolabs.rundeck.core.plugins.configuration.Description;
import com.dtolabs.rundeck.plugins.notification.NotificationPlugin;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.io.IOException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Stands in for the parts of a Rundeck server that load and call a Notification
 * plugin, using rundeck-core's own classes wherever they are published:
 *
 * <pre>
 * describe JAR
 *     JSON of each Notification provider's Description, as Rundeck would list it.
 * notify JAR PROVIDER TRIGGER EXECUTION.json CONFIG.json [options]
 *     Calls postNotification(TRIGGER, executionData, config); prints result=true|false
 *     and exits 0 or 1.
 *     --keys FILE             JSON {"keys/...": "password"} for Key Storage; names are
 *                             full storage paths under keys/, as a job's config gives
 *                             them (objects for other entries: HarnessServices)
 *     --project-props FILE    project.plugin.Notification.PROVIDER.NAME=... lines
 *     --framework-props FILE  framework.plugin.Notification.PROVIDER.NAME=... lines
 * Both commands:
 *     --rdeck-base DIR        keep Rundeck's base here (default: a temp dir, deleted)
 * </pre>
 *
 * Exit status 2 means the harness could not get as far as calling the plugin.
 */
public final class Harness {
    private static final ObjectMapper JSON =
            new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private Harness() {
    }

    public static void main(String[] args) {
        configureLogging();
        int status;
        try {
            status = run(Arguments.parse(args));
        } catch (HarnessException e) {
            System.err.println("harness: " + e.getMessage());
            status = 2;
        }
        System.exit(status);
    }

    /** slf4j-simple stands in for Rundeck's server log; it writes to stderr. */
    private static void configureLogging() {
        setDefault("org.slf4j.simpleLogger.logFile", "System.err");
        setDefault("org.slf4j.simpleLogger.defaultLogLevel", "info");
        setDefault("org.slf4j.simpleLogger.showThreadName", "false");
    }

    private static void setDefault(String key, String value) {
        if (System.getProperty(key) == null) {
            System.setProperty(key, value);
        }
    }

    private static int run(Arguments args) throws HarnessException {
        try (PluginHost host = PluginHost.open(args.jar(), args.option("--rdeck-base"))) {
            if (args.command().equals("describe")) {
                return describe(host);
            }
            return notify(host, args);
        }
    }

    private static int describe(PluginHost host) throws HarnessException {
        List<Map<String, Object>> providers = new ArrayList<>();
        for (ProviderIdent ident : host.providers()) {
            NotificationPlugin plugin = host.load(ident.getProviderName());
            // What Rundeck's provider services use to list a plugin's description.
            Description description =
                    DescribableServiceUtil.descriptionForProvider(true, plugin);
            if (description == null) {
                throw new HarnessException(ident + " gives no Description");
            }
            providers.add(DescriptionJson.provider(description));
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("plugin", host.metadata());
        out.put("providers", providers);
        print(out);
        return 0;
    }

    private static int notify(PluginHost host, Arguments args) throws HarnessException {
        String provider = args.positional(1);
        NotificationPlugin plugin = host.load(provider);
        Map<String, Object> data = ExecutionData.fromJson(readJson(args.positional(3)));
        NotificationCall call = new NotificationCall(
                provider,
                PropertyFiles.retriever(args.option("--project-props")),
                PropertyFiles.retriever(args.option("--framework-props")),
                HarnessServices.withKeys(args.option("--keys")));
        Map<String, Object> config = readJson(args.positional(4));
        // --repeat N: N calls in one JVM, as a running Rundeck makes them;
        // each call's time goes to stdout for the benchmark.
        int repeat = Integer.parseInt(String.valueOf(
                args.option("--repeat") == null ? "1" : args.option("--repeat")));
        boolean result = true;
        for (int i = 0; i < repeat; i++) {
            long start = System.nanoTime();
            result &= call.trigger(plugin, args.positional(2), data, config);
            System.out.println("call_ms=" + (System.nanoTime() - start) / 1e6);
        }
        System.out.println("result=" + result);
        return result ? 0 : 1;
    }

    static Map<String, Object> readJson(String file) throws HarnessException {
        try {
            Path path = Paths.get(file);
            @SuppressWarnings("unchecked")
            Map<String, Object> map = JSON.readValue(path.toFile(), LinkedHashMap.class);
            return map;
        } catch (IOException | RuntimeException e) {
            throw new HarnessException("cannot read JSON object from " + file + ": "
                    + e.getMessage());
        }
    }

    private static void print(Object value) throws HarnessException {
        try {
            System.out.println(JSON.writeValueAsString(value));
        } catch (IOException e) {
            throw new HarnessException("cannot write JSON: " + e.getMessage());
        }
    }
}
