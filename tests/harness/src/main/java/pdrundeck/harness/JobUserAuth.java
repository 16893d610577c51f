package pdrundeck.harness;

import com.dtolabs.rundeck.core.authorization.Attribute;
import com.dtolabs.rundeck.core.authorization.AuthContext;
import com.dtolabs.rundeck.core.authorization.Authorization;
import com.dtolabs.rundeck.core.authorization.Decision;
import com.dtolabs.rundeck.core.authorization.Explanation;
import com.dtolabs.rundeck.core.authorization.providers.ContextDecision;

import javax.security.auth.Subject;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * The job user's authorization as AuthRundeckStorageTree asks it: every storage path
 * is allowed except those the --keys file marks "readable": false, which is what
 * an ACL without a matching storage rule gives in Rundeck.
 */
final class JobUserAuth implements AuthContext {
    private final Set<String> deniedPaths;

    JobUserAuth(Set<String> deniedPaths) {
        this.deniedPaths = deniedPaths;
    }

    @Override
    public AuthContext combineWith(Authorization authorization) {
        return this;
    }

    @Override
    public Decision evaluate(Map<String, String> resource, String action,
            Set<Attribute> environment) {
        boolean granted = !deniedPaths.contains(resource.get("path"));
        return new Outcome(resource, action, environment, granted);
    }

    @Override
    public Set<Decision> evaluate(Set<Map<String, String>> resources, Set<String> actions,
            Set<Attribute> environment) {
        Set<Decision> decisions = new HashSet<>();
        for (Map<String, String> resource : resources) {
            for (String action : actions) {
                decisions.add(evaluate(resource, action, environment));
            }
        }
        return decisions;
    }

    private static final class Outcome implements Decision {
        private final Map<String, String> resource;
        private final String action;
        private final Set<Attribute> environment;
        private final boolean granted;

        Outcome(Map<String, String> resource, String action, Set<Attribute> environment,
                boolean granted) {
            this.resource = resource;
            this.action = action;
            this.environment = environment;
            this.granted = granted;
        }

        @Override
        public boolean isAuthorized() {
            return granted;
        }

        @Override
        public Explanation explain() {
            return new ContextDecision(granted ? Explanation.Code.GRANTED
                    : Explanation.Code.REJECTED_NO_RULES_DECLARED, granted);
        }

        @Override
        public long evaluationDuration() {
            return 0;
        }

        @Override
        public Map<String, String> getResource() {
            return resource;
        }

        @Override
        public String getAction() {
            return action;
        }

        @Override
        public Set<Attribute> getEnvironment() {
            return environment;
        }

        @Override
        public Subject getSubject() {
            return null;
        }
    }
}
