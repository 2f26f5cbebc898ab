// runts explain [-b DIR] [--format text|json] [container-id]: the plan create would execute,
// without creating anything (src/validate/explain.ts). A config that does not validate gets
// validate's report instead, and exit status 1.
import { defineCommand } from '../cli/command';
import { writeStdout } from '../cli/output';
import { validateBundle } from '../validate/engine';
import { explain, explanationText, PLACEHOLDER_ID } from '../validate/explain';
import { reportText } from '../validate/report';

export default defineCommand({
  name: 'explain',
  describe: 'print the plan create would execute for a bundle, without creating anything',
  flags: {
    bundle: { type: 'string', alias: 'b', default: '.', describe: 'path to the root of the bundle directory' },
    format: { type: 'string', alias: 'f', default: 'text', choices: ['text', 'json'], describe: 'output format: text, or json (src/validate/explain.schema.json)' },
  },
  positionals: [{ name: 'container-id', default: PLACEHOLDER_ID, describe: 'the ID to plan for (it shows in cgroup paths)' }],
  run(args) {
    const { report, preparation } = validateBundle({ bundle: args.bundle, host: false, id: args.containerId, root: args.root, systemdCgroup: args.systemdCgroup, rootless: args.rootless });
    if (!preparation) {
      writeStdout(args.format === 'json' ? `${JSON.stringify(report, null, 2)}\n` : reportText(report));
      return 1;
    }
    const warnings = report.findings.filter((f) => f.severity === 'warning').map((f) => (f.pointer ? `${f.pointer}: ${f.message}` : f.message));
    const explanation = explain(preparation, warnings);
    writeStdout(args.format === 'json' ? `${JSON.stringify(explanation, null, 2)}\n` : explanationText(explanation));
  },
});
