// Test-only fault injection for the crash-safety tests (test/integration/crash*.test.ts):
// with RUNTS_TEST_CRASH_AT=<name> in its environment, runts SIGKILLs itself when it reaches
// the point of that name, as a machine crash or an OOM kill would stop it there. Unset (the
// normal case) a point is one string comparison. It grants nothing: whoever sets a
// process's environment can already kill it.
const crashAt = process.env.RUNTS_TEST_CRASH_AT;

export function crashPoint(name: string): void {
  if (crashAt === name) process.kill(process.pid, 'SIGKILL');
}
