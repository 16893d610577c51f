package pdrundeck.harness;

import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** The command line: a command, its positional arguments and "--name value" options. */
final class Arguments {
    private static final List<String> OPTIONS = Arrays.asList(
            "--keys", "--project-props", "--framework-props", "--rdeck-base",
            "--repeat");
    private static final String USAGE = "usage: describe JAR"
            + " | notify JAR PROVIDER TRIGGER EXECUTION.json CONFIG.json"
            + " [--keys FILE] [--project-props FILE] [--framework-props FILE]"
            + " [--rdeck-base DIR] [--repeat N]";

    private final List<String> positional;
    private final Map<String, String> options;

    private Arguments(List<String> positional, Map<String, String> options) {
        this.positional = positional;
        this.options = options;
    }

    static Arguments parse(String[] args) throws HarnessException {
        List<String> positional = new ArrayList<>();
        Map<String, String> options = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (!args[i].startsWith("--")) {
                positional.add(args[i]);
            } else if (OPTIONS.contains(args[i]) && i + 1 < args.length) {
                options.put(args[i], args[++i]);
            } else {
                throw new HarnessException("unknown option " + args[i] + "\n" + USAGE);
            }
        }
        String command = positional.isEmpty() ? "" : positional.get(0);
        int expected = command.equals("describe") ? 2 : command.equals("notify") ? 6 : -1;
        if (positional.size() != expected) {
            throw new HarnessException(USAGE);
        }
        return new Arguments(positional, options);
    }

    String command() {
        return positional.get(0);
    }

    Path jar() {
        return Paths.get(positional.get(1));
    }

    /** Positional argument after the jar: 1 is the provider in "notify". */
    String positional(int index) {
        return positional.get(index + 1);
    }

    String option(String name) {
        return options.get(name);
    }
}
