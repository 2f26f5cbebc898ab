// Crash safety of create, first half: runts SIGKILLed at each named step before the init
// exists (RUNTS_TEST_CRASH_AT). `state` must report something coherent (or a clear error),
// the helper must die with runts, and `delete --force` must remove every process, mount,
// cgroup and state file (leakGuard checks the host at teardown).
import { testCreateKilledAt } from './crash-scene';

// A create killed before its last write is stopped for good; before its first, there is
// no record yet.
testCreateKilledAt('create:claimed', 'missing');
testCreateKilledAt('create:recorded', 'stopped');
testCreateKilledAt('create:cgroups', 'stopped');
testCreateKilledAt('create:helper', 'stopped');
testCreateKilledAt('create:userns', 'stopped');
