package pdrundeck.harness;

import com.dtolabs.rundeck.core.storage.KeyStorageLayer;
import com.dtolabs.rundeck.core.storage.ResourceMeta;
import com.dtolabs.rundeck.core.storage.StorageUtil;
import com.dtolabs.rundeck.core.storage.keys.KeyStorageTree;
import com.dtolabs.rundeck.core.storage.keys.KeyStorageUtil;
import org.rundeck.app.spi.AppService;
import org.rundeck.app.spi.Services;
import org.rundeck.storage.api.PathUtil;
import org.rundeck.storage.data.MemoryTree;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/**
 * The Services NotificationService hands a plugin: a KeyStorageTree (in Rundeck,
 * the execution's storage tree with the job user's authorization). Here it is an
 * in-memory tree holding the passwords of an optional JSON file.
 */
final class HarnessServices implements Services {
    private final Map<Class<?>, Object> services = new HashMap<>();

    private HarnessServices() {
    }

    static HarnessServices withKeys(String keysFile) throws HarnessException {
        MemoryTree<ResourceMeta> tree = new MemoryTree<>();
        if (keysFile != null) {
            for (Map.Entry<String, Object> key : Harness.readJson(keysFile).entrySet()) {
                tree.createResource(PathUtil.asPath(key.getKey()),
                        password(String.valueOf(key.getValue())));
            }
        }
        HarnessServices out = new HarnessServices();
        out.services.put(KeyStorageTree.class,
                KeyStorageUtil.keyStorageWrapper(StorageUtil.asStorageTree(tree)));
        return out;
    }

    /** Stored the way Rundeck's key storage marks a password. */
    private static ResourceMeta password(String value) {
        Map<String, String> meta = new HashMap<>();
        meta.put(StorageUtil.RES_META_RUNDECK_CONTENT_TYPE,
                KeyStorageLayer.PASSWORD_MIME_TYPE);
        meta.put(KeyStorageLayer.RUNDECK_KEY_TYPE, KeyStorageLayer.KEY_TYPE_PASSWORD);
        byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
        return StorageUtil.withStream(new ByteArrayInputStream(bytes), meta);
    }

    @Override
    public boolean hasService(Class<? extends AppService> type) {
        return services.containsKey(type);
    }

    @Override
    public <T extends AppService> T getService(Class<T> type) {
        if (!hasService(type)) {
            throw new IllegalStateException("Required service " + type.getName()
                    + " was not available");
        }
        return type.cast(services.get(type));
    }
}
