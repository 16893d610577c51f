package pdrundeck.loader;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The command line of a script provider, built the way Rundeck builds one for
 * script plugins: interpreter tokens, the script's absolute path, then the
 * script-args split on single spaces. Only ${config.NAME} references expand.
 */
final class ScriptCommand {
    static final String DEFAULT_INTERPRETER = "python3";

    /** Rundeck's ${group.key} syntax: the group stops at the first dot. */
    private static final Pattern REFERENCE =
            Pattern.compile("\\$\\{([^\\s.}]+)\\.([^\\s}]+)\\}");

    private ScriptCommand() {
    }

    static List<String> build(String interpreter, Path script, String args,
            Map<?, ?> config) {
        List<String> command = interpreter(interpreter, config);
        command.add(script.toAbsolutePath().toString());
        if (args != null && !args.trim().isEmpty()) {
            for (String arg : args.split(" ")) {
                if (!arg.isEmpty()) {
                    command.add(expand(arg, config, false));
                }
            }
        }
        return command;
    }

    /**
     * The interpreter is expanded before it is split, so that a property value such
     * as "python3 -X dev" gives two tokens. An unknown reference becomes blank, as
     * Rundeck does for script-interpreter; nothing at all means python3.
     */
    static List<String> interpreter(String spec, Map<?, ?> config) {
        List<String> tokens = split(spec == null ? "" : expand(spec, config, true));
        if (tokens.isEmpty()) {
            tokens.add(DEFAULT_INTERPRETER);
        }
        return tokens;
    }

    /**
     * Replaces ${config.NAME} with its non-empty value. Other references, and
     * config names without a value, become blank or stay literal as asked.
     */
    static String expand(String text, Map<?, ?> config, boolean blankUnknown) {
        Matcher matcher = REFERENCE.matcher(text);
        StringBuffer out = new StringBuffer();
        while (matcher.find()) {
            Object value = "config".equals(matcher.group(1))
                    ? config.get(matcher.group(2)) : null;
            String found = value == null ? "" : value.toString();
            String replacement = !found.isEmpty() ? found
                    : blankUnknown ? "" : matcher.group();
            matcher.appendReplacement(out, Matcher.quoteReplacement(replacement));
        }
        matcher.appendTail(out);
        return out.toString();
    }

    /** Splits on whitespace; '...' and "..." group words and are removed. */
    static List<String> split(String text) {
        List<String> tokens = new ArrayList<>();
        StringBuilder token = new StringBuilder();
        boolean inToken = false;
        char quote = 0;
        for (char c : text.toCharArray()) {
            if (quote != 0) {
                if (c == quote) {
                    quote = 0;
                } else {
                    token.append(c);
                }
            } else if (c == '\'' || c == '"') {
                quote = c;
                inToken = true;
            } else if (Character.isWhitespace(c)) {
                if (inToken) {
                    tokens.add(token.toString());
                    token.setLength(0);
                    inToken = false;
                }
            } else {
                token.append(c);
                inToken = true;
            }
        }
        if (inToken) {
            tokens.add(token.toString());
        }
        return tokens;
    }
}
