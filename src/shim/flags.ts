// The shim's command line, as containerd's shim package parses it with Go's flag package:
// `-flag value`, `-flag=value`, `--flag …`, booleans alone; flags end at the first non-flag
// argument, the action (`start`, `delete`, or none: the resident shim).

export interface ShimFlags {
  namespace: string;
  id: string;
  /** containerd's grpc address (what the socket address is derived from). */
  address: string;
  publishBinary: string;
  bundle: string;
  /** The socket the resident shim serves (given by `start` to the process it spawns). */
  socket: string;
  debug: boolean;
  version: boolean;
  action: string;
}

const STRING_FLAGS: Record<string, keyof ShimFlags> = {
  namespace: 'namespace',
  id: 'id',
  address: 'address',
  'publish-binary': 'publishBinary',
  bundle: 'bundle',
  socket: 'socket',
};
const BOOL_FLAGS: Record<string, 'debug' | 'version'> = { debug: 'debug', v: 'version' };

/** A bad command line; main prints it with the usage and exits 2, as Go's flag package does. */
export class FlagError extends Error {}

export function parseFlags(argv: string[]): ShimFlags {
  const flags: ShimFlags = { namespace: '', id: '', address: '', publishBinary: '', bundle: '', socket: '', debug: false, version: false, action: '' };
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      i++;
      break;
    }
    if (!arg.startsWith('-') || arg === '-') break;
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq);
    if (name in BOOL_FLAGS) {
      const value = eq < 0 ? 'true' : body.slice(eq + 1);
      if (!/^(1|0|t|f|true|false|TRUE|FALSE|True|False)$/.test(value)) throw new FlagError(`invalid boolean value "${value}" for -${name}`);
      flags[BOOL_FLAGS[name]] = /^(1|t|true)$/i.test(value);
    } else if (name in STRING_FLAGS) {
      let value: string;
      if (eq >= 0) value = body.slice(eq + 1);
      else if (i + 1 < argv.length) value = argv[++i];
      else throw new FlagError(`flag needs an argument: -${name}`);
      (flags[STRING_FLAGS[name]] as string) = value;
    } else {
      throw new FlagError(`flag provided but not defined: -${name}`);
    }
  }
  flags.action = argv[i] ?? '';
  return flags;
}

export const USAGE = `Usage: containerd-shim-runts-v2 -namespace NS -address ADDR -id ID [-bundle DIR] [-publish-binary BIN] [-debug] [start|delete]
       containerd-shim-runts-v2 -v`;
