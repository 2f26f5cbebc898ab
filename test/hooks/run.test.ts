// Why a hook's program cannot be exec'd, found before the guard forks, in runc's words.
import t from 'tap';
import { execProblem } from '../../src/hooks/run';

t.test("execProblem: runc's fork/exec wording for each way a hook program cannot run", async (t) => {
  t.equal(execProblem('/bin/sh'), undefined, 'an executable file');
  t.equal(execProblem('/no/such/hook'), 'fork/exec /no/such/hook: no such file or directory');
  t.equal(execProblem('/bin'), 'fork/exec /bin: permission denied', 'a directory, which execve refuses with EACCES');
  t.equal(execProblem('/etc/passwd'), 'fork/exec /etc/passwd: permission denied', 'a file without an execute bit');
});
