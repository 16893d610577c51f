package pdrundeck.harness;

import com.dtolabs.rundeck.core.storage.AuthRundeckStorageTree;
import com.dtolabs.rundeck.core.storage.KeyStorageLayer;
import com.dtolabs.rundeck.core.storage.ResourceMeta;
import com.dtolabs.rundeck.core.storage.StorageConverterPluginAdapter;
import com.dtolabs.rundeck.core.storage.StorageTimestamperConverter;
import com.dtolabs.rundeck.core.storage.StorageTree;
import com.dtolabs.rundeck.core.storage.StorageUtil;
import com.dtolabs.rundeck.core.storage.keys.KeyStorageTree;
import com.dtolabs.rundeck.core.storage.keys.KeyStorageUtil;
import org.rundeck.app.spi.AppService;
import org.rundeck.app.spi.Services;
import org.rundeck.storage.api.HasInputStream;
import org.rundeck.storage.api.Path;
import org.rundeck.storage.api.PathUtil;
import org.rundeck.storage.api.Resource;
import org.rundeck.storage.api.StorageException;
import org.rundeck.storage.conf.TreeBuilder;
import org.rundeck.storage.data.MemoryTree;
import org.rundeck.storage.impl.DelegateTree;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * The Services NotificationService hands a plugin: the execution's KeyStorageTree.
 * It is put together from rundeck-core's classes the way a Rundeck server does it:
 * a storage tree with the timestamp and KeyStorageLayer converters, the latter over
 * /keys (StorageTreeFactory), behind AuthRundeckStorageTree, resolved with the job
 * user's AuthContext and wrapped by KeyStorageUtil (StorageService
 * .storageTreeWithContext). Only the base storage differs: it is in memory (failing
 * on a missing path as Rundeck's DB storage does), filled from the --keys JSON file,
 * one entry per stored key:
 *
 * <pre>
 * {"keys/project/demo/pagerduty/api-key": "the password",
 *  "keys/project/demo/ssh.pem": {"type": "private", "content": "..."},
 *  "keys/project/demo/hidden":  {"content": "...", "readable": false}}
 * </pre>
 *
 * A name is the full storage path, as a job's config names it: Key Storage lives
 * under keys/ and the path keeps that prefix. A string is a password; an object
 * gives "type" (password, the default, private or public), "content", and
 * "readable": false to have the job user's ACLs deny reading it.
 */
final class HarnessServices implements Services {
    static final String KEY_STORAGE_ROOT = "keys/";

    private final Map<Class<?>, Object> services = new HashMap<>();

    private HarnessServices() {
    }

    static HarnessServices withKeys(String keysFile) throws HarnessException {
        StorageTree tree = rundeckTree(new MemoryStore());
        Set<String> unreadable = new HashSet<>();
        if (keysFile != null) {
            for (Map.Entry<String, Object> key : Harness.readJson(keysFile).entrySet()) {
                store(tree, key.getKey(), key.getValue(), unreadable);
            }
        }
        AuthRundeckStorageTree authorized = new AuthRundeckStorageTree(tree);
        HarnessServices out = new HarnessServices();
        out.services.put(KeyStorageTree.class, KeyStorageUtil.keyStorageWrapper(
                StorageUtil.resolvedTree(new JobUserAuth(unreadable), authorized)));
        return out;
    }

    /** StorageTreeFactory's tree over a base store, with its default converters. */
    private static StorageTree rundeckTree(MemoryStore base) {
        return StorageUtil.asStorageTree(TreeBuilder.<ResourceMeta>builder()
                .base(base)
                .convert(new StorageConverterPluginAdapter(
                        "builtin:timestamp", new StorageTimestamperConverter()))
                .convert(new StorageConverterPluginAdapter(
                        "builtin:ssh-storage", new KeyStorageLayer()),
                        PathUtil.asPath("/keys"))
                .build());
    }

    /**
     * Stores one entry as Rundeck's key storage API does: by content type, leaving
     * the KeyStorageLayer to add its metadata (Rundeck-data-type=password, ...).
     */
    private static void store(StorageTree tree, String path, Object entry,
            Set<String> unreadable) throws HarnessException {
        if (!path.startsWith(KEY_STORAGE_ROOT)) {
            throw new HarnessException("--keys: " + path + " is not under "
                    + KEY_STORAGE_ROOT + " (Key Storage paths start with keys/)");
        }
        String type = "password";
        Object content = entry;
        if (entry instanceof Map) {
            Map<?, ?> spec = (Map<?, ?>) entry;
            type = spec.get("type") == null ? type : spec.get("type").toString();
            content = spec.get("content");
            if (Boolean.FALSE.equals(spec.get("readable"))) {
                unreadable.add(PathUtil.asPath(path).getPath());
            }
        }
        if (content == null || content instanceof Map || content instanceof Iterable) {
            throw new HarnessException("--keys: " + path + " needs text content");
        }
        Map<String, String> meta = new HashMap<>();
        meta.put(StorageUtil.RES_META_RUNDECK_CONTENT_TYPE, contentType(path, type));
        byte[] bytes = content.toString().getBytes(StandardCharsets.UTF_8);
        try {
            tree.createResource(PathUtil.asPath(path),
                    StorageUtil.withStream(new StoredBytes(bytes), meta));
        } catch (RuntimeException e) {
            // Two names for one path ("keys/a", "keys//a"), or a path under a key.
            throw new HarnessException("--keys: cannot store " + path + ": " + e);
        }
    }

    /** Content that reads the same every time, as a stored row or file does. */
    private static final class StoredBytes implements HasInputStream {
        private final byte[] bytes;

        StoredBytes(byte[] bytes) {
            this.bytes = bytes.clone();
        }

        @Override
        public InputStream getInputStream() {
            return new ByteArrayInputStream(bytes);
        }

        @Override
        public long writeContent(OutputStream out) throws IOException {
            out.write(bytes);
            return bytes.length;
        }
    }

    private static String contentType(String path, String type) throws HarnessException {
        switch (type) {
            case "password":
                return KeyStorageLayer.PASSWORD_MIME_TYPE;
            case "private":
                return KeyStorageLayer.PRIVATE_KEY_MIME_TYPE;
            case "public":
                return KeyStorageLayer.PUBLIC_KEY_MIME_TYPE;
            default:
                throw new HarnessException("--keys: " + path + " has type " + type
                        + "; use password, private or public");
        }
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

    /**
     * MemoryTree answers a missing path with IllegalArgumentException; Rundeck's
     * storage (DbStorageService, the default) throws StorageException "Not found".
     */
    private static final class MemoryStore extends DelegateTree<ResourceMeta> {
        MemoryStore() {
            super(new MemoryTree<>());
        }

        @Override
        public Resource<ResourceMeta> getResource(Path path) {
            if (!hasResource(path)) {
                throw StorageException.readException(path, "Not found");
            }
            return super.getResource(path);
        }

        @Override
        public Resource<ResourceMeta> getPath(Path path) {
            if (!hasPath(path)) {
                throw StorageException.readException(path, "Not found");
            }
            return super.getPath(path);
        }
    }
}
