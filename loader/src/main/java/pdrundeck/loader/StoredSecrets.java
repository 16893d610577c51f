package pdrundeck.loader;

import com.dtolabs.rundeck.core.plugins.configuration.Description;
import com.dtolabs.rundeck.core.plugins.configuration.Property;
import com.dtolabs.rundeck.core.storage.StorageAuthorizationException;
import com.dtolabs.rundeck.core.storage.keys.KeyStorageTree;
import org.rundeck.app.spi.Services;
import org.rundeck.storage.api.StorageException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The valueConversion STORAGE_PATH_AUTOMATIC_READ of script plugins, which Rundeck
 * never applies to a Notification (rundeck.md section 2), done here instead. For
 * each property whose renderingOptions ask for it, a value starting with "keys/" is
 * a Key Storage path: it is read as a password through the KeyStorageTree of the
 * Services Rundeck hands the plugin (the execution's tree, with the job user's
 * authorization), and the stored content replaces it. Other values stay as they are.
 *
 * <p>Paths keep their "keys/" prefix: Rundeck's storage tree holds Key Storage under
 * keys/ (the KeyStorageLayer is mounted at /keys, ACLs match "keys/..."), and
 * Rundeck's own script plugins read the configured value as it is.
 *
 * <p>A failure is a LoaderException naming the property and the path; neither it
 * nor anything else here ever holds stored content.
 */
final class StoredSecrets {
    static final String CONVERSION_OPTION = "valueConversion";
    static final String AUTOMATIC_READ = "STORAGE_PATH_AUTOMATIC_READ";
    static final String KEY_STORAGE_ROOT = "keys/";

    private StoredSecrets() {
    }

    /** True for a property whose value Rundeck would read from Key Storage. */
    static boolean readsStorage(Property property) {
        Map<String, Object> options = property.getRenderingOptions();
        // The option may be the String from a descriptor or Rundeck's own enum.
        return options != null && options.get(CONVERSION_OPTION) != null
                && AUTOMATIC_READ.equals(options.get(CONVERSION_OPTION).toString());
    }

    /** The names of the properties that {@link #readsStorage} is true for. */
    static Set<String> secretProperties(Description description) {
        Set<String> names = new HashSet<>();
        for (Property property : description.getProperties()) {
            if (readsStorage(property)) {
                names.add(property.getName());
            }
        }
        return names;
    }

    /** True for a value that names a Key Storage path rather than the secret itself. */
    static boolean isStoragePath(Object value) {
        return value != null && value.toString().trim().startsWith(KEY_STORAGE_ROOT);
    }

    /**
     * A copy of {@code config} with each Key Storage path of a converting property
     * replaced by the password stored there. The first path that cannot be read
     * stops it all: nothing must be sent with a path in place of a key.
     */
    static Map<Object, Object> resolve(Description description, Map<?, ?> config,
            Services services) throws LoaderException {
        Map<Object, Object> resolved = new LinkedHashMap<>(config);
        for (Property property : description.getProperties()) {
            Object value = config.get(property.getName());
            if (readsStorage(property) && isStoragePath(value)) {
                resolved.put(property.getName(),
                        read(services, property.getName(), value.toString().trim()));
            }
        }
        return resolved;
    }

    private static String read(Services services, String property, String path)
            throws LoaderException {
        String reason;
        try {
            KeyStorageTree tree = services != null
                    && services.hasService(KeyStorageTree.class)
                    ? services.getService(KeyStorageTree.class) : null;
            if (tree == null) {
                reason = "Rundeck gave the plugin no Key Storage";
            } else {
                byte[] content = tree.readPassword(path);
                String secret = content == null ? ""
                        : new String(content, StandardCharsets.UTF_8);
                if (!secret.trim().isEmpty()) {
                    return secret;
                }
                reason = "the stored password is empty";
            }
        } catch (StorageAuthorizationException e) {
            reason = "access denied for the job's user";
        } catch (StorageException e) {
            // WrongContentType is not public: know it by name.
            reason = e.getClass().getSimpleName().equals("WrongContentType")
                    ? "it is not a password" : "no such key, or it cannot be read";
            reason += " (" + e.getClass().getSimpleName() + ")";
        } catch (IOException | RuntimeException e) {
            // Only the type: a storage plugin's message is not ours to vouch for.
            reason = "it cannot be read (" + e.getClass().getSimpleName() + ")";
        }
        throw new LoaderException(property + ": cannot read Key Storage path "
                + printable(path) + ": " + reason + "; nothing was sent");
    }

    /** The path as typed, less control characters that could forge a log line. */
    private static String printable(String path) {
        return "\"" + path.replaceAll("\\p{Cntrl}", "?") + "\"";
    }
}
