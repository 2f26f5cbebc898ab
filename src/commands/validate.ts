// runts validate [-b DIR] [--host] [--format text|json]: every problem of config.json at once
// (src/validate/engine.ts); exit 0 when create would pass validation (and, with --host, the
// host checks), 1 otherwise.
import { defineCommand } from '../cli/command';
import { writeStdout } from '../cli/output';
import { validateBundle } from '../validate/engine';
import { reportText } from '../validate/report';
import { PLACEHOLDER_ID } from '../validate/explain';

export default defineCommand({
  name: 'validate',
  describe: "report every problem of a bundle's config.json, and with --host what this host cannot do for it",
  flags: {
    bundle: { type: 'string', alias: 'b', default: '.', describe: 'path to the root of the bundle directory' },
    host: { type: 'boolean', describe: 'also check the config against this host: cgroup controllers, kernel features, rootless limits' },
    format: { type: 'string', alias: 'f', default: 'text', choices: ['text', 'json'], describe: 'output format: text, or json (src/validate/validate-report.schema.json)' },
  },
  positionals: [],
  run(args) {
    const { report } = validateBundle({ bundle: args.bundle, host: args.host, id: PLACEHOLDER_ID, root: args.root, systemdCgroup: args.systemdCgroup, rootless: args.rootless });
    writeStdout(args.format === 'json' ? `${JSON.stringify(report, null, 2)}\n` : reportText(report));
    return report.valid ? 0 : 1;
  },
});
