package pdrundeck.loader;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;
import java.util.stream.Collectors;

import static pdrundeck.loader.ScriptProcess.LOG;

/**
 * Keeps the RD_* contract within what Linux's execve accepts. Past its limits the
 * process does not start at all and the page is lost: one environment string may
 * not pass 128 KB (MAX_ARG_STRLEN), and argv with the whole environment may not
 * pass ARG_MAX (2 MB under the usual 8 MB stack). A job's node list, an option or
 * an exported value can each pass the first; many of them, the second.
 *
 * <p>Only variable names are logged: values may hold anything.
 */
final class ContractBounds {
    /** Characters per value: even at 3 UTF-8 bytes each, well under 128 KB. */
    static final int MAX_VALUE_CHARS = 32_000;
    /** Bytes for the whole contract, leaving room in ARG_MAX for everything else. */
    static final long MAX_TOTAL_BYTES = 1L << 20;
    static final String ELLIPSIS = "\u2026";

    /** Free-form values the job defines, and the least needed to page: left out first. */
    private static final List<String> OPTIONAL_GROUPS =
            Arrays.asList("RD_OPTION_", "RD_EXPORT_", "RD_GLOBALS_");
    /** Without the trigger the script cannot do anything at all. */
    private static final String TRIGGER = "RD_NOTIFICATION_TRIGGER";
    /** execve counts each string's NUL, and a pointer to it. */
    private static final int OVERHEAD_BYTES = 1 + 8;

    private ContractBounds() {
    }

    /**
     * Cuts long values, then leaves out the largest ones while the total is too
     * large. The {@code whole} variables (secret properties: short, and useless
     * once cut) are never touched.
     */
    static void apply(String provider, Map<String, String> env, Set<String> whole) {
        Set<String> kept = new HashSet<>(whole);
        kept.add(TRIGGER);
        cutLongValues(provider, env, kept);
        leaveOutLargest(provider, env, kept);
    }

    private static void cutLongValues(String provider, Map<String, String> env,
            Set<String> kept) {
        for (Map.Entry<String, String> entry : env.entrySet()) {
            if (!kept.contains(entry.getKey())
                    && entry.getValue().length() > MAX_VALUE_CHARS) {
                entry.setValue(cut(entry.getValue()));
                LOG.warn("{}: {} is longer than {} characters; it was cut to that",
                        provider, entry.getKey(), MAX_VALUE_CHARS);
            }
        }
    }

    /** MAX_VALUE_CHARS characters in all, the last one "…". */
    static String cut(String value) {
        int end = MAX_VALUE_CHARS - ELLIPSIS.length();
        // Half a surrogate pair is no character: it would not survive encoding.
        if (Character.isHighSurrogate(value.charAt(end - 1))) {
            end--;
        }
        return value.substring(0, end) + ELLIPSIS;
    }

    private static void leaveOutLargest(String provider, Map<String, String> env,
            Set<String> kept) {
        Map<String, Long> sizes = new LinkedHashMap<>();
        env.forEach((name, value) -> sizes.put(name, size(name, value)));
        long total = sizes.values().stream().mapToLong(Long::longValue).sum();
        if (total <= MAX_TOTAL_BYTES) {
            return;
        }
        List<String> leftOut = new ArrayList<>();
        total = leaveOut(sizes, total, leftOut,
                name -> !kept.contains(name) && isOptional(name));
        // Only if the job's own values were not enough: huge config or node lists.
        leaveOut(sizes, total, leftOut, name -> !kept.contains(name));
        env.keySet().removeAll(leftOut);
        LOG.warn("{}: the notification's variables add up to more than {} bytes;"
                + " left out {}", provider, MAX_TOTAL_BYTES, String.join(", ", leftOut));
    }

    /** Takes candidates, largest first, until the total fits; the new total. */
    private static long leaveOut(Map<String, Long> sizes, long total,
            List<String> leftOut, Predicate<String> candidate) {
        List<String> largestFirst = sizes.keySet().stream()
                .filter(candidate)
                .sorted(Comparator.comparing(sizes::get).reversed())
                .collect(Collectors.toList());
        for (String name : largestFirst) {
            if (total <= MAX_TOTAL_BYTES) {
                break;
            }
            total -= sizes.remove(name);
            leftOut.add(name);
        }
        return total;
    }

    private static boolean isOptional(String name) {
        return OPTIONAL_GROUPS.stream().anyMatch(name::startsWith);
    }

    /** "NAME=VALUE" as the process gets it, in UTF-8, with execve's overhead. */
    private static long size(String name, String value) {
        String text = name + "=" + value;
        return text.getBytes(StandardCharsets.UTF_8).length + OVERHEAD_BYTES;
    }
}
