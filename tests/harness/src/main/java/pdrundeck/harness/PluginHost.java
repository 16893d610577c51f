package pdrundeck.harness;

import com.dtolabs.rundeck.core.execution.service.ExecutionServiceException;
import com.dtolabs.rundeck.core.plugins.FilePluginCache;
import com.dtolabs.rundeck.core.plugins.JarPluginProviderLoader;
import com.dtolabs.rundeck.core.plugins.JarPluginScanner;
import com.dtolabs.rundeck.core.plugins.PluginDirChangeEventListener;
import com.dtolabs.rundeck.core.plugins.PluginDirProvider;
import com.dtolabs.rundeck.core.plugins.PluginManagerService;
import com.dtolabs.rundeck.core.plugins.PluginMetadata;
import com.dtolabs.rundeck.core.plugins.ProviderIdent;
import com.dtolabs.rundeck.core.plugins.ProviderLoader;
import com.dtolabs.rundeck.core.utils.cache.FileCache;
import com.dtolabs.rundeck.plugins.notification.NotificationPlugin;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * A Rundeck base with the plugin jar in its libext, and rundeck-core's plugin
 * loading wired as the server wires it (rundeckapp resources.groovy): a
 * JarPluginScanner over libext feeding a FilePluginCache, behind a
 * PluginManagerService, behind the Notification provider service.
 */
final class PluginHost implements AutoCloseable {
    private final Path base;
    private final boolean temporary;
    private final FilePluginCache cache;
    private final NotificationProviderService service;

    private PluginHost(Path base, boolean temporary, FilePluginCache cache) {
        this.base = base;
        this.temporary = temporary;
        this.cache = cache;
        PluginManagerService manager = new PluginManagerService(
                base.resolve("libext").toFile(),
                base.resolve("libext").resolve("cache").toFile(), cache);
        this.service = new NotificationProviderService(manager);
    }

    static PluginHost open(Path jar, String rdeckBase) throws HarnessException {
        if (!Files.isRegularFile(jar)) {
            throw new HarnessException("no such plugin jar: " + jar);
        }
        boolean temporary = rdeckBase == null;
        Path base;
        try {
            base = temporary ? Files.createTempDirectory("pd-harness-rdeck-")
                    : Files.createDirectories(Paths.get(rdeckBase)).toAbsolutePath();
        } catch (IOException e) {
            throw new HarnessException("cannot make a Rundeck base: " + e.getMessage());
        }
        try {
            return new PluginHost(base, temporary, install(jar, base));
        } catch (HarnessException | RuntimeException e) {
            if (temporary) {
                deleteTree(base);
            }
            throw e;
        }
    }

    /** Puts the jar in libext and wires the loading classes over it. */
    private static FilePluginCache install(Path jar, Path base) throws HarnessException {
        try {
            // Rundeck's scratch dirs and the loader's cache both hang off rdeck.base.
            System.setProperty("rdeck.base", base.toString());
            Path libext = Files.createDirectories(base.resolve("libext"));
            Path copy = libext.resolve(jar.getFileName());
            // Copy then rename, so a run sharing this base never sees half a jar.
            Path partial = Files.createTempFile(libext, ".harness-", ".part");
            Files.copy(jar, partial, StandardCopyOption.REPLACE_EXISTING);
            Files.move(partial, copy, StandardCopyOption.ATOMIC_MOVE);
            checkManifest(copy.toFile());
            return wire(libext.toFile());
        } catch (IOException e) {
            throw new HarnessException("cannot install the jar: " + e.getMessage());
        }
    }

    /** The scanner would skip an invalid jar silently; say so up front instead. */
    private static void checkManifest(File jar) throws HarnessException {
        if (!JarPluginProviderLoader.isValidJarPlugin(jar)) {
            throw new HarnessException("rundeck-core rejects the jar manifest of " + jar
                    + " (JarPluginProviderLoader.isValidJarPlugin; reason logged above)");
        }
    }

    private static FilePluginCache wire(File libext) {
        File cacheDir = new File(libext, "cache");
        FileCache<ProviderLoader> files =
                PluginManagerService.createProviderLoaderFileCache();
        JarPluginScanner scanner =
                new JarPluginScanner(dirProvider(libext), cacheDir, files);
        FilePluginCache cache = new FilePluginCache(files);
        cache.addScanner(scanner);
        return cache;
    }

    /** Rundeck's WatchingPluginDirProvider starts a watcher thread we do not need. */
    private static PluginDirProvider dirProvider(File libext) {
        return new PluginDirProvider() {
            @Override
            public File getPluginDir() {
                return libext;
            }

            @Override
            public void registerDirChangeEventListener(PluginDirChangeEventListener l) {
            }
        };
    }

    /** The jar's Notification providers, in the order of Rundeck-Plugin-Classnames. */
    List<ProviderIdent> providers() throws HarnessException {
        List<ProviderIdent> listed = service.listProviders();
        if (listed.isEmpty()) {
            throw new HarnessException("the jar declares no Notification provider");
        }
        return loader(listed.get(0)).listProviders().stream()
                .filter(ident -> ident.getService().equals(service.getName()))
                .collect(Collectors.toList());
    }

    /** A new provider instance, through the plugin manager as Rundeck loads one. */
    NotificationPlugin load(String provider) throws HarnessException {
        try {
            return service.providerOfType(provider);
        } catch (ExecutionServiceException e) {
            throw new HarnessException("cannot load Notification provider " + provider
                    + ": " + e.getMessage());
        }
    }

    /** What Rundeck's plugin list shows of the jar (JarPluginProviderLoader's view). */
    Map<String, Object> metadata() throws HarnessException {
        PluginMetadata meta = (PluginMetadata) loader(providers().get(0));
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("name", meta.getPluginName());
        out.put("pluginVersion", meta.getPluginVersion());
        out.put("fileVersion", meta.getPluginFileVersion());
        out.put("author", meta.getPluginAuthor());
        out.put("url", meta.getPluginUrl());
        out.put("date", meta.getPluginDate() == null ? null
                : meta.getPluginDate().toInstant().toString());
        out.put("description", meta.getPluginDescription());
        out.put("id", meta.getPluginId());
        return out;
    }

    private ProviderLoader loader(ProviderIdent ident) throws HarnessException {
        try {
            return cache.getLoaderForIdent(ident);
        } catch (Exception e) {
            throw new HarnessException("no loader for " + ident + ": " + e.getMessage());
        }
    }

    @Override
    public void close() {
        if (temporary) {
            deleteTree(base);
        }
    }

    private static void deleteTree(Path root) {
        try (Stream<Path> walk = Files.walk(root)) {
            List<Path> paths = new ArrayList<>(walk.collect(Collectors.toList()));
            paths.sort(Comparator.reverseOrder());
            for (Path path : paths) {
                Files.deleteIfExists(path);
            }
        } catch (IOException e) {
            System.err.println(
                    "harness: could not delete " + root + ": " + e.getMessage());
        }
    }
}
