package pdrundeck.loader;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The Python tree bundled under pagerduty-notify/contents/, listed in
 * pagerduty-notify/files.txt, and its extraction to a cache directory named after
 * the tree's content id. Extraction goes to a sibling temp directory that is then
 * renamed into place, so concurrent notifications never see a half-written tree.
 */
final class Bundle {
    private static final String ROOT = "/pagerduty-notify/";
    private static final String LISTING = ROOT + "files.txt";
    private static final Pattern SAFE_NAME =
            Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*");
    private static final boolean POSIX =
            FileSystems.getDefault().supportedFileAttributeViews().contains("posix");
    private static final Set<PosixFilePermission> DIR_MODE =
            PosixFilePermissions.fromString("rwx------");
    private static final Set<PosixFilePermission> FILE_MODE =
            PosixFilePermissions.fromString("rw-------");

    private static final Object INSTALL_LOCK = new Object();

    private static Bundle bundled;

    private final Class<?> anchor;
    private final String id;
    private final List<String> files;

    private Bundle(Class<?> anchor, String id, List<String> files) {
        this.anchor = anchor;
        this.id = id;
        this.files = files;
    }

    /** The bundle in this plugin jar, listed once per plugin class loader. */
    static synchronized Bundle bundled() throws LoaderException {
        if (bundled == null) {
            bundled = load(Bundle.class);
        }
        return bundled;
    }

    /** Reads files.txt through the class loader of {@code anchor}. */
    static Bundle load(Class<?> anchor) throws LoaderException {
        List<String> lines = readListing(anchor);
        String first = lines.isEmpty() ? "" : lines.get(0);
        String id = first.startsWith("id=") ? first.substring(3).trim() : "";
        if (!SAFE_NAME.matcher(id).matches()) {
            throw new LoaderException(LISTING + " must start with id=<content id>");
        }
        List<String> files = new ArrayList<>();
        for (String line : lines.subList(1, lines.size())) {
            files.add(checkedPath(line));
        }
        return new Bundle(anchor, id, Collections.unmodifiableList(files));
    }

    private static List<String> readListing(Class<?> anchor) throws LoaderException {
        List<String> lines = new ArrayList<>();
        try (InputStream in = anchor.getResourceAsStream(LISTING)) {
            if (in == null) {
                throw new LoaderException(LISTING + " is missing from the plugin jar");
            }
            BufferedReader reader = new BufferedReader(
                    new InputStreamReader(in, StandardCharsets.UTF_8));
            String line;
            while ((line = reader.readLine()) != null) {
                if (!line.trim().isEmpty()) {
                    lines.add(line.trim());
                }
            }
        } catch (IOException e) {
            throw new LoaderException("cannot read " + LISTING + ": " + e.getMessage(),
                    e);
        }
        return lines;
    }

    /** A listed path must stay inside contents/: relative, '/'-separated, no "..". */
    private static String checkedPath(String path) throws LoaderException {
        boolean bad = path.startsWith("/") || path.contains("\\") || path.contains(":");
        for (String part : path.split("/")) {
            bad |= part.isEmpty() || part.equals(".") || part.equals("..");
        }
        if (bad) {
            throw new LoaderException(LISTING + " lists an unsafe path: " + path);
        }
        return path;
    }

    /** The extracted contents directory, extracting it first when needed. */
    Path contentsDir() throws LoaderException {
        try {
            Path base = cacheBase();
            Path target = base.resolve(id);
            if (!isComplete(target)) {
                // One installer per JVM: a broken tree is replaced once, not by each
                // waiting thread in turn. Other processes are kept apart by rename.
                synchronized (INSTALL_LOCK) {
                    if (!isComplete(target)) {
                        install(base, target);
                    }
                }
            }
            return target;
        } catch (IOException e) {
            throw new LoaderException("cannot extract the Python tree: " + e, e);
        }
    }

    /**
     * $RDECK_BASE/var/tmp/pagerduty-notify when Rundeck's base is known, else a
     * per-user directory in java.io.tmpdir; either way private to this user.
     */
    static Path cacheBase() throws IOException, LoaderException {
        String rdeckBase = System.getProperty("rdeck.base");
        Path base;
        if (rdeckBase != null && !rdeckBase.trim().isEmpty()) {
            base = Paths.get(rdeckBase, "var", "tmp", "pagerduty-notify");
        } else {
            String user = System.getProperty("user.name", "user")
                    .replaceAll("[^A-Za-z0-9._-]", "_");
            base = Paths.get(System.getProperty("java.io.tmpdir"),
                    "pagerduty-notify-" + user);
        }
        Files.createDirectories(base.getParent());
        try {
            Files.createDirectory(base, dirMode());
        } catch (FileAlreadyExistsException e) {
            // Made earlier or by a concurrent notification; a link or file is refused.
            if (!Files.isDirectory(base, LinkOption.NOFOLLOW_LINKS)) {
                throw e;
            }
        }
        makePrivate(base);
        return base;
    }

    /**
     * The base may sit in a shared temp directory: refuse one that another user
     * created (or a link to one), then narrow its mode to the owner.
     */
    private static void makePrivate(Path base) throws IOException, LoaderException {
        if (!POSIX) {
            return;
        }
        String owner = Files.getOwner(base, LinkOption.NOFOLLOW_LINKS).getName();
        String self = ProcessHandle.current().info().user()
                .orElse(System.getProperty("user.name"));
        if (!owner.equals(self)) {
            throw new LoaderException(
                    "cache directory " + base + " belongs to " + owner);
        }
        Files.setPosixFilePermissions(base, DIR_MODE);
    }

    /** Complete: every listed file is there (temp-dir cleaners may remove some). */
    private boolean isComplete(Path dir) {
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            return false;
        }
        for (String file : files) {
            if (!Files.isRegularFile(dir.resolve(file), LinkOption.NOFOLLOW_LINKS)) {
                return false;
            }
        }
        return true;
    }

    private void install(Path base, Path target) throws IOException, LoaderException {
        Path temp = Files.createTempDirectory(base, id + ".tmp-", dirMode());
        try {
            extractInto(temp);
            if (!moveInPlace(temp, target) && !isComplete(target)) {
                replaceBroken(base, temp, target);
            }
        } finally {
            deleteTree(temp);
        }
    }

    /** False when the target already exists: another notification may have won. */
    private static boolean moveInPlace(Path from, Path to) {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** Moves an incomplete extraction aside, then puts the fresh one in its place. */
    private void replaceBroken(Path base, Path fresh, Path target) throws IOException {
        Path stale = base.resolve(id + ".stale-" + UUID.randomUUID());
        Files.move(target, stale, StandardCopyOption.ATOMIC_MOVE);
        try {
            Files.move(fresh, target, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            deleteTree(stale);
        }
    }

    private void extractInto(Path dir) throws IOException, LoaderException {
        for (String file : files) {
            Path dest = dir.resolve(file).normalize();
            if (!dest.startsWith(dir)) {
                throw new LoaderException(LISTING + " lists an unsafe path: " + file);
            }
            createDirs(dir, dest.getParent());
            String resource = ROOT + "contents/" + file;
            try (InputStream in = anchor.getResourceAsStream(resource)) {
                if (in == null) {
                    throw new LoaderException(resource + " is missing from the jar");
                }
                // Create with the private mode first; a copy would recreate the file.
                Files.createFile(dest, fileMode());
                try (OutputStream out = Files.newOutputStream(dest)) {
                    in.transferTo(out);
                }
            }
        }
    }

    private static void createDirs(Path root, Path dir) throws IOException {
        if (dir.equals(root) || Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        createDirs(root, dir.getParent());
        Files.createDirectory(dir, dirMode());
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            List<Path> deepestFirst =
                    walk.sorted(Comparator.reverseOrder()).collect(Collectors.toList());
            for (Path path : deepestFirst) {
                Files.deleteIfExists(path);
            }
        }
    }

    private static FileAttribute<?>[] dirMode() {
        return mode(DIR_MODE);
    }

    private static FileAttribute<?>[] fileMode() {
        return mode(FILE_MODE);
    }

    private static FileAttribute<?>[] mode(Set<PosixFilePermission> permissions) {
        if (!POSIX) {
            return new FileAttribute<?>[0];
        }
        return new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(permissions)};
    }
}
