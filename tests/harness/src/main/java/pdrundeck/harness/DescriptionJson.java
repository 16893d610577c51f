package pdrundeck.harness;

import com.dtolabs.rundeck.core.plugins.configuration.Description;
import com.dtolabs.rundeck.core.plugins.configuration.Property;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** A Description as plain maps for JSON; absent values stay null. */
final class DescriptionJson {
    private DescriptionJson() {
    }

    static Map<String, Object> provider(Description description) {
        List<Map<String, Object>> properties = new ArrayList<>();
        for (Property property : description.getProperties()) {
            properties.add(property(property));
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("name", description.getName());
        out.put("title", description.getTitle());
        out.put("description", description.getDescription());
        out.put("properties", properties);
        return out;
    }

    static Map<String, Object> property(Property property) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("name", property.getName());
        out.put("title", property.getTitle());
        out.put("description", property.getDescription());
        out.put("type", property.getType() == null ? null : property.getType().name());
        out.put("required", property.isRequired());
        out.put("defaultValue", property.getDefaultValue());
        out.put("values", property.getSelectValues());
        out.put("labels", property.getSelectLabels());
        out.put("scope", property.getScope() == null ? null : property.getScope().name());
        out.put("renderingOptions", property.getRenderingOptions());
        return out;
    }
}
