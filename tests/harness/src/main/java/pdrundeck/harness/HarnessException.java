package pdrundeck.harness;

/** The harness could not get as far as calling the plugin; exit status 2. */
final class HarnessException extends Exception {
    private static final long serialVersionUID = 1L;

    HarnessException(String message) {
        super(message);
    }
}
