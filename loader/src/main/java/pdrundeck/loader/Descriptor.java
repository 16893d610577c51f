package pdrundeck.loader;

import com.dtolabs.rundeck.core.plugins.configuration.Description;
import com.dtolabs.rundeck.core.plugins.configuration.Property;
import com.dtolabs.rundeck.core.plugins.configuration.PropertyScope;
import com.dtolabs.rundeck.plugins.util.DescriptionBuilder;
import com.dtolabs.rundeck.plugins.util.PropertyBuilder;

import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;

/**
 * The provider descriptor that build.py derives from plugin.yaml and bundles as
 * pagerduty-notify/providers.properties (UTF-8). A missing key means "not set".
 */
final class Descriptor {
    static final String RESOURCE = "/pagerduty-notify/providers.properties";

    private static Descriptor bundled;

    private final Properties props;

    private Descriptor(Properties props) {
        this.props = props;
    }

    /** The descriptor in this plugin jar, read once per plugin class loader. */
    static synchronized Descriptor bundled() throws LoaderException {
        if (bundled == null) {
            bundled = load(Descriptor.class);
        }
        return bundled;
    }

    /** Reads the descriptor through the class loader of {@code anchor}. */
    static Descriptor load(Class<?> anchor) throws LoaderException {
        try (InputStream in = anchor.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new LoaderException(RESOURCE + " is missing from the plugin jar");
            }
            Properties props = new Properties();
            props.load(new InputStreamReader(in, StandardCharsets.UTF_8));
            return new Descriptor(props);
        } catch (IOException | IllegalArgumentException e) {
            throw new LoaderException("cannot read " + RESOURCE + ": " + e.getMessage(),
                    e);
        }
    }

    boolean hasProvider(String provider) {
        return list("providers").contains(provider);
    }

    String interpreter(String provider) {
        return providerValue(provider, "script-interpreter");
    }

    String scriptFile(String provider) {
        return providerValue(provider, "script-file");
    }

    String scriptArgs(String provider) {
        return providerValue(provider, "script-args");
    }

    /** Rundeck's view of the provider, with its properties in declared order. */
    Description describe(String provider) throws LoaderException {
        DescriptionBuilder builder = DescriptionBuilder.builder()
                .name(provider)
                .title(providerValue(provider, "title"))
                .description(providerValue(provider, "description"));
        for (String name : list("provider." + provider + ".properties")) {
            builder.property(property(provider, name));
        }
        return builder.build();
    }

    private Property property(String provider, String name) throws LoaderException {
        String key = "provider." + provider + ".property." + name + ".";
        String type = trimmed(key + "type");
        if (type == null) {
            throw new LoaderException(
                    "property " + name + " of " + provider + " has no type");
        }
        PropertyBuilder builder = PropertyBuilder.builder()
                .type(enumValue(Property.Type.class, type, key + "type"))
                .name(name)
                .title(props.getProperty(key + "title"))
                .description(props.getProperty(key + "description"))
                .required(Boolean.parseBoolean(trimmed(key + "required")))
                .defaultValue(props.getProperty(key + "default"))
                .renderingOptions(new TreeMap<String, Object>(
                        withPrefix(key + "renderingOptions.")));
        List<String> values = values(key + "values");
        if (!values.isEmpty()) {
            builder.values(values).labels(labels(key + "labels.", values));
        }
        String scope = trimmed(key + "scope");
        if (scope != null) {
            builder.scope(enumValue(PropertyScope.class, scope, key + "scope"));
        }
        return builder.build();
    }

    /** values = K, then values.0 .. values.K-1; a gap is a broken descriptor. */
    private List<String> values(String key) throws LoaderException {
        String count = trimmed(key);
        if (count == null) {
            return Collections.emptyList();
        }
        List<String> values = new ArrayList<>();
        try {
            int size = Integer.parseInt(count);
            for (int i = 0; i < size; i++) {
                String value = props.getProperty(key + "." + i);
                if (value == null) {
                    throw new LoaderException(key + "." + i + " is missing");
                }
                values.add(value);
            }
        } catch (NumberFormatException e) {
            throw new LoaderException(key + " is not a count", e);
        }
        return values;
    }

    /** Labels in the order of the values they name; labels without a value last. */
    private Map<String, String> labels(String prefix, List<String> values) {
        Map<String, String> all = new TreeMap<>(withPrefix(prefix));
        Map<String, String> ordered = new LinkedHashMap<>();
        for (String value : values) {
            if (all.containsKey(value)) {
                ordered.put(value, all.remove(value));
            }
        }
        ordered.putAll(all);
        return ordered;
    }

    private Map<String, String> withPrefix(String prefix) {
        Map<String, String> found = new LinkedHashMap<>();
        for (String key : props.stringPropertyNames()) {
            if (key.startsWith(prefix) && key.length() > prefix.length()) {
                found.put(key.substring(prefix.length()), props.getProperty(key));
            }
        }
        return found;
    }

    private static <E extends Enum<E>> E enumValue(Class<E> type, String name, String key)
            throws LoaderException {
        try {
            return Enum.valueOf(type, name);
        } catch (IllegalArgumentException e) {
            throw new LoaderException(
                    key + ": unknown " + type.getSimpleName() + " " + name);
        }
    }

    private String providerValue(String provider, String key) {
        return props.getProperty("provider." + provider + "." + key);
    }

    private String trimmed(String key) {
        String value = props.getProperty(key);
        return value == null || value.trim().isEmpty() ? null : value.trim();
    }

    /** A comma list, trimmed, blanks dropped. */
    private List<String> list(String key) {
        List<String> items = new ArrayList<>();
        String value = props.getProperty(key);
        if (value != null) {
            for (String item : value.split(",")) {
                if (!item.trim().isEmpty()) {
                    items.add(item.trim());
                }
            }
        }
        return items;
    }
}
