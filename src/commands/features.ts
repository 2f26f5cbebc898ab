// runts features: the runtime-spec features document, as JSON on stdout (see src/features.ts).
import { defineCommand } from '../cli/command';
import { writeStdout } from '../cli/output';
import { featuresText } from '../features';

export default defineCommand({
  name: 'features',
  describe: 'show the enabled features',
  flags: {},
  positionals: [],
  run() {
    writeStdout(featuresText());
  },
});
