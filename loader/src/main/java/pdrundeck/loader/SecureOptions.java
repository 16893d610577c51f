package pdrundeck.loader;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import static pdrundeck.loader.ScriptProcess.LOG;

/**
 * Rundeck expands ${option.NAME} in a notification's config before the plugin sees
 * it, secure options included, so a job can paste a password into, say, dedupe_key.
 * Secure option values must never leave Rundeck: each one found in a config value
 * is replaced with [secure] before the config goes anywhere. Secret properties (read
 * from Key Storage) stay whole: they are meant to carry a secret, and the script
 * never logs them.
 */
final class SecureOptions {
    static final String MASK = "[secure]";
    /** Shorter values would mangle ordinary text ("db1", "yes") wherever it occurs. */
    static final int MIN_LENGTH = 4;

    private SecureOptions() {
    }

    /** A copy of {@code config} in which no other property holds a secure value. */
    static Map<Object, Object> mask(String provider, Map<?, ?> config,
            Map<?, ?> executionData, Set<String> secretProperties) {
        Map<Object, Object> masked = new LinkedHashMap<>(config);
        Pattern values = pattern(secureValues(executionData));
        if (values == null) {
            return masked;
        }
        for (Map.Entry<Object, Object> entry : masked.entrySet()) {
            String name = String.valueOf(entry.getKey());
            Object value = entry.getValue();
            if (value == null || secretProperties.contains(name)) {
                continue;
            }
            Matcher matcher = values.matcher(value.toString());
            if (matcher.find()) {
                entry.setValue(matcher.replaceAll(Matcher.quoteReplacement(MASK)));
                // The name tells the job's author what to fix; the value stays unsaid.
                LOG.warn("{}: {} holds the value of a secure option; it is passed on"
                        + " as {}", provider, name, MASK);
            }
        }
        return masked;
    }

    /**
     * The same for the rest of the contract (the execution's argstring, exported
     * variables, ...): no variable but a secret property's carries a secure value.
     */
    static void maskContract(String provider, Map<String, String> contract,
            Map<?, ?> executionData, Set<String> exempt) {
        Pattern values = pattern(secureValues(executionData));
        if (values == null) {
            return;
        }
        for (Map.Entry<String, String> entry : contract.entrySet()) {
            if (exempt.contains(entry.getKey())) {
                continue;
            }
            Matcher matcher = values.matcher(entry.getValue());
            if (matcher.find()) {
                entry.setValue(matcher.replaceAll(Matcher.quoteReplacement(MASK)));
                LOG.warn("{}: {} held the value of a secure option; it is passed"
                        + " on as {}", provider, entry.getKey(), MASK);
            }
        }
    }

    /** context.secureOption's values, as given and trimmed, long enough to mask. */
    static List<String> secureValues(Map<?, ?> executionData) {
        Object context = executionData.get("context");
        Object secure = context instanceof Map ? ((Map<?, ?>) context).get("secureOption")
                : null;
        Set<String> found = new LinkedHashSet<>();
        if (secure instanceof Map) {
            for (Object value : ((Map<?, ?>) secure).values()) {
                if (value != null) {
                    found.add(value.toString());
                    found.add(value.toString().trim());
                }
            }
        }
        found.removeIf(v -> v.codePointCount(0, v.length()) < MIN_LENGTH);
        return new ArrayList<>(found);
    }

    /**
     * One alternation, longest value first, so that a value containing another is
     * masked whole, and a single pass never rescans a [secure] it has just written.
     */
    private static Pattern pattern(List<String> values) {
        if (values.isEmpty()) {
            return null;
        }
        String alternation = values.stream()
                .sorted(Comparator.comparingInt(String::length).reversed())
                .map(Pattern::quote)
                .collect(Collectors.joining("|"));
        return Pattern.compile(alternation);
    }
}
