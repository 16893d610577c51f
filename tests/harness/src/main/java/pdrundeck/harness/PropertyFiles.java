package pdrundeck.harness;

import com.dtolabs.rundeck.core.common.PropertyRetriever;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.Properties;

/** Project or framework properties, the outer two levels of Rundeck's config lookup. */
final class PropertyFiles {
    private PropertyFiles() {
    }

    /** A retriever over a .properties file, or an empty one when no file is given. */
    static PropertyRetriever retriever(String file) throws HarnessException {
        Properties props = new Properties();
        if (file != null) {
            try (Reader in =
                    Files.newBufferedReader(Paths.get(file), StandardCharsets.UTF_8)) {
                props.load(in);
            } catch (IOException e) {
                throw new HarnessException("cannot read " + file + ": " + e.getMessage());
            }
        }
        return props::getProperty;
    }
}
