// A Kubernetes node on CRI-O 1.26 (conmon execs the runtime), driven by crictl; the scenarios
// are in cri-scenarios.ts, each run with the runts and the runc handler.
import { criSuite } from './cri-scenarios';

criSuite('crio');
