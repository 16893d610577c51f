package pdrundeck.harness;

import com.dtolabs.rundeck.core.dispatcher.DataContextUtils;

import java.text.SimpleDateFormat;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.Date;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.TimeZone;

/**
 * The executionData map NotificationService hands a plugin (exportExecutionData,
 * exportJobdata and generateNotificationContext in rundeckapp; rundeck.md section 2),
 * rebuilt from JSON: id is a Long, dateStarted/dateEnded are java.util.Date with
 * their *Unixtime (Long) and *W3c (String) companions, job and nodestatus are maps,
 * and context is a map of string maps.
 */
final class ExecutionData {
    private ExecutionData() {
    }

    static Map<String, Object> fromJson(Map<String, Object> json)
            throws HarnessException {
        Map<String, Object> data = new LinkedHashMap<>(json);
        if (data.get("id") != null) {
            data.put("id", asLong("id", data.get("id")));
        }
        dates(data, "dateStarted");
        dates(data, "dateEnded");
        Map<String, Object> job = map(data.get("job"));
        if (job != null && job.get("averageDuration") != null) {
            job.put("averageDuration",
                    asLong("averageDuration", job.get("averageDuration")));
        }
        data.put("context", context(data.get("context")));
        return data;
    }

    /** Fills the Date, Unixtime and W3c forms of one date from whichever is given. */
    private static void dates(Map<String, Object> data, String key)
            throws HarnessException {
        Object value = data.get(key);
        Date date = null;
        if (value instanceof Number) {
            date = new Date(((Number) value).longValue());
        } else if (value instanceof String) {
            date = parse(key, (String) value);
        } else if (data.get(key + "W3c") instanceof String) {
            date = parse(key + "W3c", (String) data.get(key + "W3c"));
        } else if (data.get(key + "Unixtime") instanceof Number) {
            date = new Date(((Number) data.get(key + "Unixtime")).longValue());
        }
        if (date == null) {
            return;
        }
        data.put(key, date);
        data.put(key + "Unixtime", date.getTime());
        data.putIfAbsent(key + "W3c", w3c(date));
    }

    private static Date parse(String key, String text) throws HarnessException {
        try {
            return Date.from(Instant.parse(text));
        } catch (DateTimeParseException e) {
            try {
                return Date.from(OffsetDateTime.parse(text).toInstant());
            } catch (DateTimeParseException e2) {
                throw new HarnessException(key + " is not a W3C date: " + text);
            }
        }
    }

    /** NotificationService.w3cDateValue. */
    static String w3c(Date date) {
        SimpleDateFormat format =
                new SimpleDateFormat("yyyy-MM-dd'T'HH:mm:ss'Z'", Locale.US);
        format.setTimeZone(TimeZone.getTimeZone("GMT"));
        return format.format(date);
    }

    /** A data context holds strings only; nulls are dropped. */
    private static Map<String, Map<String, String>> context(Object value) {
        Map<String, Map<String, String>> context = new LinkedHashMap<>();
        Map<String, Object> groups = map(value);
        if (groups == null) {
            return context;
        }
        for (Map.Entry<String, Object> group : groups.entrySet()) {
            Map<String, Object> entries = map(group.getValue());
            Map<String, String> strings = new LinkedHashMap<>();
            if (entries != null) {
                entries.forEach((k, v) -> {
                    if (v != null) {
                        strings.put(k, v.toString());
                    }
                });
            }
            context.put(group.getKey(), strings);
        }
        return context;
    }

    /**
     * The context NotificationService expands ${group.key} in config against:
     * the execution's context, with job, execution and globals merged over it.
     */
    static Map<String, Map<String, String>> notificationContext(
            Map<String, Object> data) {
        @SuppressWarnings("unchecked")
        Map<String, Map<String, String>> base =
                (Map<String, Map<String, String>>) data.get("context");
        Map<String, Map<String, String>> extra = new HashMap<>();
        extra.put("job", strings(map(data.get("job"))));
        extra.put("execution", strings(data));
        if (base == null || !base.containsKey("globals")) {
            extra.put("globals", new HashMap<>());
        }
        return DataContextUtils.merge(base == null ? new HashMap<>() : base, extra);
    }

    /** NotificationService.toStringStringMap: every value as text, falsy as "". */
    private static Map<String, String> strings(Map<String, Object> map) {
        Map<String, String> out = new HashMap<>();
        if (map != null) {
            map.forEach((k, v) -> out.put(k, falsy(v) ? "" : v.toString()));
        }
        return out;
    }

    private static boolean falsy(Object value) {
        return value == null || Boolean.FALSE.equals(value)
                || (value instanceof Number && ((Number) value).doubleValue() == 0)
                || (value instanceof String && ((String) value).isEmpty());
    }

    private static Long asLong(String key, Object value) throws HarnessException {
        try {
            return value instanceof Number ? ((Number) value).longValue()
                    : Long.parseLong(value.toString().trim());
        } catch (NumberFormatException e) {
            throw new HarnessException(key + " is not a whole number: " + value);
        }
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Object value) {
        return value instanceof Map ? (Map<String, Object>) value : null;
    }
}
