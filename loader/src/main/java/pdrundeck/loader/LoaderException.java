package pdrundeck.loader;

/**
 * A loader failure whose message is safe to log: it names files, providers and
 * property names, never a configuration or environment value.
 */
final class LoaderException extends Exception {
    private static final long serialVersionUID = 1L;

    LoaderException(String message) {
        super(message);
    }

    LoaderException(String message, Throwable cause) {
        super(message, cause);
    }
}
