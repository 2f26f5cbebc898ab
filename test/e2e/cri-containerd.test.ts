// A Kubernetes node on containerd 1.6's CRI plugin (runc shim, BinaryName), driven by crictl; the scenarios
// are in cri-scenarios.ts, each run with the runts and the runc handler.
import { criSuite } from './cri-scenarios';

criSuite('containerd');
