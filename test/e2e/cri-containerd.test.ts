// A Kubernetes node on containerd 1.6's CRI plugin, driven by crictl; the scenarios are in
// cri-scenarios.ts, each run with the handlers runts and runc (runc's shim, BinaryName) and
// runts-shim (containerd-shim-runts-v2 as runtime_type).
import { criSuite } from './cri-scenarios';

criSuite('containerd');
