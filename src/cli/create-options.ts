// The flags and argument `create` and `run` share (runc's create flags; run adds --detach and --keep).
export const CREATE_FLAGS = {
  bundle: { type: 'string', alias: 'b', default: '.', describe: 'path to the root of the bundle directory' },
  'pid-file': { type: 'string', describe: 'file to write the process id to' },
  'console-socket': { type: 'string', describe: "path to an AF_UNIX socket that receives the console's pty master" },
  'no-pivot': { type: 'boolean', describe: 'do not use pivot_root (MS_MOVE + chroot instead)' },
  'preserve-fds': { type: 'number', describe: 'pass N additional file descriptors (3 .. 3+N-1) to the container' },
} as const;

export const CONTAINER_ID = { name: 'container-id', required: true, describe: 'unique name of the container' } as const;
