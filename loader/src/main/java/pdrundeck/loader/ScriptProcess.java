package pdrundeck.loader;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * Runs one script process: stdin closed, stdout and stderr copied line by line to
 * Rundeck's log, a hard time limit, and the whole process tree killed on overrun.
 * Nothing here logs the command's arguments or the environment: both may hold
 * configuration values, and those may be keys.
 */
final class ScriptProcess {
    static final Logger LOG = LoggerFactory.getLogger("pagerduty-notify");

    /** Longest output line logged; a runaway line should not flood the server log. */
    private static final int MAX_LINE = 8192;
    /** How long to wait for the last output once the process has gone. */
    private static final long DRAIN_MILLIS = 5000;

    private ScriptProcess() {
    }

    /** Runs the command; true only when it exits with status 0 in time. */
    static boolean run(String provider, List<String> command, Path workDir,
            Map<String, String> contract, int limitSeconds) {
        ProcessBuilder builder =
                new ProcessBuilder(command).directory(workDir.toFile());
        ScriptEnvironment.apply(builder.environment(), contract);
        Process process;
        try {
            process = builder.start();
        } catch (IOException e) {
            logStartFailure(provider, command.get(0), e);
            return false;
        }
        try {
            process.getOutputStream().close();
        } catch (IOException ignored) {
            // The script reading stdin gets end-of-file either way.
        }
        Thread out = pump(provider, process.getInputStream(), "stdout");
        Thread err = pump(provider, process.getErrorStream(), "stderr");
        return await(provider, process, limitSeconds, out, err);
    }

    private static boolean await(String provider, Process process, int limitSeconds,
            Thread out, Thread err) {
        try {
            if (!process.waitFor(limitSeconds, TimeUnit.SECONDS)) {
                killTree(process);
                LOG.error("{}: notification timed out after {} s; killed the script and"
                        + " its child processes", provider, limitSeconds);
                return false;
            }
            out.join(DRAIN_MILLIS);
            err.join(DRAIN_MILLIS);
        } catch (InterruptedException e) {
            // Rundeck interrupts a notification thread that overran its own limit.
            killTree(process);
            Thread.currentThread().interrupt();
            LOG.error("{}: notification interrupted; killed the script and its child"
                    + " processes", provider);
            return false;
        }
        int status = process.exitValue();
        if (status != 0) {
            LOG.error("{}: notification failed (exit status {})", provider, status);
        }
        return status == 0;
    }

    /** Children first: once the script is gone, they are no longer its descendants. */
    static void killTree(Process process) {
        List<ProcessHandle> children =
                process.descendants().collect(Collectors.toList());
        children.forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        try {
            process.waitFor(DRAIN_MILLIS, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static Thread pump(String provider, InputStream stream, String name) {
        Thread thread = new Thread(() -> copyLines(provider, stream),
                "pagerduty-notify-" + provider + "-" + name);
        thread.setDaemon(true);
        thread.start();
        return thread;
    }

    private static void copyLines(String provider, InputStream stream) {
        try (BufferedReader reader = new BufferedReader(
                new InputStreamReader(stream, StandardCharsets.UTF_8))) {
            String line;
            OutputLevel level = OutputLevel.INFO;
            while ((line = reader.readLine()) != null) {
                level = logLine(provider, line, level);
            }
        } catch (IOException e) {
            // The stream closes under us when the process tree is killed.
        }
    }

    /**
     * The Python side logs "LEVEL: message". Keeping that level lets its errors show
     * in Rundeck's server log, whose root logger is at WARN by default. A record can
     * span lines (a traceback, a multi-line message), so a line without a level of
     * its own continues the level of the stream's last line that had one. Returns
     * the level for the next line.
     */
    static OutputLevel logLine(String provider, String line, OutputLevel previous) {
        String text =
                line.length() > MAX_LINE ? line.substring(0, MAX_LINE) + "..." : line;
        OutputLevel level = OutputLevel.of(text);
        if (level == null) {
            level = previous;
        }
        level.log(provider, text);
        return level;
    }

    /** The levels of Python's logging, as the server log gets them. */
    enum OutputLevel {
        ERROR, WARN, INFO, DEBUG;

        /** The level a line's prefix names, or null for a line without one. */
        static OutputLevel of(String text) {
            if (text.startsWith("ERROR:") || text.startsWith("CRITICAL:")) {
                return ERROR;
            } else if (text.startsWith("WARNING:")) {
                return WARN;
            } else if (text.startsWith("INFO:")) {
                return INFO;
            } else if (text.startsWith("DEBUG:")) {
                return DEBUG;
            }
            return null;
        }

        void log(String provider, String text) {
            switch (this) {
                case ERROR:
                    LOG.error("{}: {}", provider, text);
                    break;
                case WARN:
                    LOG.warn("{}: {}", provider, text);
                    break;
                case DEBUG:
                    LOG.debug("{}: {}", provider, text);
                    break;
                default:
                    LOG.info("{}: {}", provider, text);
            }
        }
    }

    /** E2BIG (error=7) is about the environment's size, not about the interpreter. */
    private static void logStartFailure(String provider, String interpreter,
            IOException e) {
        if (String.valueOf(e.getMessage()).contains("error=7,")) {
            LOG.error("{}: cannot start the script ({}): its arguments and environment"
                    + " are too large", provider, reason(e));
        } else {
            LOG.error("{}: cannot run the interpreter \"{}\" ({}); the notification"
                    + " needs python3 3.8 or later", provider, interpreter, reason(e));
        }
    }

    /** The OS reason at the end of ProcessBuilder's message, e.g. "No such file...". */
    private static String reason(IOException e) {
        String message = String.valueOf(e.getMessage());
        int comma = message.lastIndexOf(", ");
        return comma >= 0 ? message.substring(comma + 2) : message;
    }
}
