package pdrundeck.loader;

import java.text.SimpleDateFormat;
import java.util.Collections;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TimeZone;

/**
 * The environment contract of the Python entrypoint. Rundeck hands a Notification
 * plugin Java maps; script plugins of other services get RD_* variables instead,
 * so this class turns the maps into the variables a script plugin would see:
 * RD_CONFIG_*, RD_NOTIFICATION_TRIGGER, RD_EXECUTION_*, RD_JOB_*, RD_OPTION_*,
 * RD_EXPORT_*, RD_GLOBALS_* and RD_RUNDECK_BASE. Secure option values are never
 * exported.
 */
final class ScriptEnvironment {
    private ScriptEnvironment() {
    }

    /** The RD_* variables for one notification, in the order they override. */
    static Map<String, String> contract(
            String trigger, Map<?, ?> executionData, Map<?, ?> config) {
        Map<String, String> env = new LinkedHashMap<>();
        for (Map.Entry<?, ?> entry : config.entrySet()) {
            String value = entry.getValue() == null ? "" : entry.getValue().toString();
            if (!value.isEmpty()) {
                put(env, "config", entry.getKey(), value);
            }
        }
        put(env, "notification", "trigger", trigger);
        putScalars(env, "execution", executionData);

        Map<?, ?> context = map(executionData.get("context"));
        putScalars(env, "job", map(context.get("job")));
        putScalars(env, "job", map(executionData.get("job")));
        putOptions(env, map(context.get("option")), map(context.get("secureOption")));
        putScalars(env, "export", map(context.get("export")));
        putScalars(env, "globals", map(context.get("globals")));
        // Script plugins see rundeck.base too; the outbox lives under it.
        String base = System.getProperty("rdeck.base");
        if (base != null && !base.isEmpty()) {
            put(env, "rundeck", "base", base);
        }
        return env;
    }

    /**
     * Applies the contract to an inherited environment. Inherited RD_* variables go
     * first: Rundeck's own may describe another job, and must not leak into ours.
     */
    static void apply(Map<String, String> processEnv, Map<String, String> contract) {
        processEnv.keySet().removeIf(name -> name.startsWith("RD_"));
        processEnv.put("PYTHONIOENCODING", "utf-8");
        processEnv.put("PYTHONUTF8", "1");
        processEnv.putAll(contract);
    }

    /**
     * Rundeck's name rule (DataContextUtils.generateEnvVarName). Upper-casing with
     * the root locale keeps "id" from turning into a dotted capital I in Turkish.
     */
    static String name(String group, Object key) {
        String upper = (group + "." + key).toUpperCase(Locale.ROOT);
        return "RD_" + upper.replaceAll("[^A-Za-z0-9_]", "_");
    }

    /**
     * Options, less every option that is also a secure option: Rundeck lists an
     * exposed secure option's value in both groups. "name.delimiter" and the like
     * go with their option.
     */
    private static void putOptions(Map<String, String> env, Map<?, ?> options,
            Map<?, ?> secure) {
        Set<?> secret = secure.keySet();
        for (Map.Entry<?, ?> entry : options.entrySet()) {
            String key = String.valueOf(entry.getKey());
            boolean hidden = false;
            for (Object name : secret) {
                hidden |= key.equals(name) || key.startsWith(name + ".");
            }
            if (!hidden) {
                putScalar(env, "option", key, entry.getValue());
            }
        }
    }

    /** Scalars only: maps and lists (context, nodestatus, node lists) are skipped. */
    private static void putScalars(Map<String, String> env, String group,
            Map<?, ?> data) {
        for (Map.Entry<?, ?> entry : data.entrySet()) {
            putScalar(env, group, entry.getKey(), entry.getValue());
        }
    }

    private static void putScalar(Map<String, String> env, String group, Object key,
            Object value) {
        if (value instanceof Date) {
            put(env, group, key, w3c((Date) value));
        } else if (value instanceof CharSequence || value instanceof Number
                || value instanceof Boolean || value instanceof Character
                || value instanceof Enum) {
            // CharSequence also covers the GStrings Rundeck's Groovy code may pass.
            put(env, group, key, value.toString());
        }
    }

    /** NUL cannot travel in an environment value; ProcessBuilder would refuse it. */
    private static void put(Map<String, String> env, String group, Object key,
            String value) {
        if (key != null && value != null) {
            env.put(name(group, key), value.replace("\0", ""));
        }
    }

    /** The format of Rundeck's *W3c execution fields. */
    static String w3c(Date date) {
        SimpleDateFormat format =
                new SimpleDateFormat("yyyy-MM-dd'T'HH:mm:ss'Z'", Locale.US);
        format.setTimeZone(TimeZone.getTimeZone("UTC"));
        return format.format(date);
    }

    private static Map<?, ?> map(Object value) {
        return value instanceof Map ? (Map<?, ?>) value : Collections.emptyMap();
    }
}
