// maxrss OUTFILE COMMAND [ARGS...]: runs COMMAND, then writes its peak resident set size
// in KiB (ru_maxrss from wait4: the largest of the command and the children it reaped) to
// OUTFILE. Exits with the command's status (128 + N when killed by signal N).
// Used by scripts/bench.mjs: node cannot read a child's rusage, and GNU time may be absent.
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: maxrss OUTFILE COMMAND [ARGS...]\n");
    return 125;
  }
  pid_t pid = fork();
  if (pid < 0) {
    fprintf(stderr, "maxrss: fork: %s\n", strerror(errno));
    return 125;
  }
  if (pid == 0) {
    execvp(argv[2], &argv[2]);
    fprintf(stderr, "maxrss: exec %s: %s\n", argv[2], strerror(errno));
    _exit(127);
  }
  int status;
  struct rusage usage;
  while (wait4(pid, &status, 0, &usage) < 0) {
    if (errno != EINTR) {
      fprintf(stderr, "maxrss: wait4 %d: %s\n", (int)pid, strerror(errno));
      return 125;
    }
  }
  FILE *out = fopen(argv[1], "w");
  if (!out || fprintf(out, "%ld\n", usage.ru_maxrss) < 0 || fclose(out) != 0) {
    fprintf(stderr, "maxrss: writing %s: %s\n", argv[1], strerror(errno));
    return 125;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
