// The benchmark's rows (what is measured, under which budget), their statistics, and the
// printed table. Every row is always present in the JSON: rows of a runtime that is not
// available here carry `skipped` with the reason instead of numbers.

/** Runtimes measured side by side: runts, and the references when they work on this host. */
export const RUNTIME_NAMES = ['runts', 'runc', 'crun'];

/** The sections of the table, in order; values are stored in `unit` and shown in `shownAs`. */
const SECTIONS = {
  time: { title: 'Wall time of one command', unit: 'ms', shownAs: 'ms' },
  rss: { title: 'Peak RSS of the CLI process (wait4 ru_maxrss)', unit: 'KiB', shownAs: 'MiB' },
  waiting: { title: "RSS of a created container's waiting process (VmRSS of the state pid)", unit: 'KiB', shownAs: 'MiB' },
  parallel: { title: 'Containers created+started+deleted in parallel, wall time of the batch', unit: 'ms', shownAs: 's' },
  clients: { title: 'Through real clients (--clients), wall time', unit: 'ms', shownAs: 'ms' },
  shims: { title: 'Total RSS of the containerd shims serving 20 running pods (--clients, VmRSS)', unit: 'KiB', shownAs: 'MiB' },
};

/** The runtimes the client rows compare: crun is no runtime handler of the test servers. */
const CLIENT_RUNTIMES = ['runts', 'runc'];
/**
 * The client rows (scripts/bench/clients.ts measures them): key, label, the runtimes measured,
 * runts's budget and the section (default `clients`). `pod-shim` and `ctr-shim` are runts only:
 * its own shim against runc's shim with runc; `pods` compares the two shims' memory.
 * @type {{ key: string, label: string, runtimes: string[], budget?: Budget, section?: 'clients' | 'shims' }[]}
 */
export const CLIENT_ROWS = [
  { key: 'pod', label: 'pod start: crictl runp+create+start (containerd CRI)', runtimes: CLIENT_RUNTIMES },
  {
    key: 'pod-shim',
    label: 'pod start (containerd CRI, runtime_type containerd-shim-runts-v2)',
    runtimes: ['runts'],
    budget: { ratioOf: 'clients.runc.pod', limit: 1, versus: 'runc shim' },
  },
  { key: 'ctr-run', label: 'ctr run --rm (containerd runc shim)', runtimes: CLIENT_RUNTIMES },
  {
    key: 'ctr-shim',
    label: 'ctr run --rm (containerd-shim-runts-v2)',
    runtimes: ['runts'],
    budget: { ratioOf: 'clients.runc.ctr-run', limit: 0.8, versus: 'runc shim' },
  },
  { key: 'docker-run', label: 'docker run --rm (dockerd 20.10)', runtimes: CLIENT_RUNTIMES },
  {
    key: 'pods',
    label: 'shims of 20 pods (runts: containerd-shim-runts-v2; runc: containerd-shim-runc-v2)',
    runtimes: CLIENT_RUNTIMES,
    section: 'shims',
    budget: { ratioOf: 'shims.runc.pods', limit: 1, versus: 'runc shims' },
  },
];

/** A client row's id. */
export const clientRowId = (row, runtime) => `${row.section ?? 'clients'}.${runtime}.${row.key}`;

/** Every client row's id. */
export const clientRowIds = () => CLIENT_ROWS.flatMap((row) => row.runtimes.map((runtime) => clientRowId(row, runtime)));

/**
 * @typedef {{ ratioOf: string, limit: number, versus: string } | { maxValue: number }} Budget
 *   `ratioOf`: this row's median ÷ that row's median ≤ limit (`versus` names that row in the
 *   table); `maxValue`: median ≤ maxValue (in the row's unit).
 * @typedef {{ id: string, section: keyof typeof SECTIONS, label: string, runtime?: string, budget?: Budget }} RowDef
 */

/**
 * Every row, in table order.
 * @param {number} parallelCount containers per parallel batch
 * @param {number} concurrency how many of them at a time
 * @returns {RowDef[]}
 */
export function rowDefs(parallelCount, concurrency) {
  const rows = [{ id: 'time.node', section: 'time', label: 'node -e 0' }];
  const perRuntime = (section, key, label, budgetOf) =>
    RUNTIME_NAMES.map((runtime) => ({
      id: `${section}.${runtime}.${key}`,
      section,
      label: `${runtime} ${label}`,
      runtime,
      ...(runtime === 'runts' && budgetOf ? { budget: budgetOf } : {}),
    }));
  rows.push(...perRuntime('time', 'version', '--version', { ratioOf: 'time.node', limit: 1.1, versus: 'node -e 0' }));
  rows.push(...perRuntime('time', 'state', 'state ID', { ratioOf: 'time.node', limit: 1.15, versus: 'node -e 0' }));
  rows.push(...perRuntime('time', 'run', 'run (/bin/true)', { ratioOf: 'time.runc.run', limit: 1.2, versus: 'runc' }));
  rows.push(...perRuntime('time', 'lifecycle', 'create+start+delete --force', { ratioOf: 'time.runc.lifecycle', limit: 3.5, versus: 'runc' }));

  rows.push({ id: 'rss.node', section: 'rss', label: 'node -e 0' });
  const cliBudget = { ratioOf: 'rss.node', limit: 1.5, versus: 'node -e 0' };
  for (const [key, label] of [
    ['version', '--version'],
    ['state', 'state ID'],
    ['create', 'create'],
    ['start', 'start'],
    ['delete', 'delete --force'],
    ['run', 'run (/bin/true)'],
  ]) {
    rows.push(...perRuntime('rss', key, label, cliBudget));
  }

  rows.push(...perRuntime('waiting', 'init', 'created, not started', { maxValue: 1024 }));
  rows.push(
    ...perRuntime('parallel', 'batch', `${parallelCount} containers, ${concurrency} at a time`, {
      ratioOf: 'parallel.runc.batch',
      limit: 3,
      versus: 'runc',
    }),
  );
  for (const row of CLIENT_ROWS) {
    const { label, runtimes, budget } = row;
    rows.push(
      ...runtimes.map((runtime) => ({
        id: clientRowId(row, runtime),
        section: row.section ?? 'clients',
        label: `${runtime} ${label}`,
        runtime,
        ...(runtime === 'runts' && budget ? { budget } : {}),
      })),
    );
  }
  return rows;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * The rows as written to the JSON: samples, median, min, max, and the budget's verdict.
 * @param {RowDef[]} defs
 * @param {Map<string, number[]>} samples row id → measured values
 * @param {Map<string, string>} skippedRuntimes runtime name → why it was not measured
 * @param {Map<string, string>} rowErrors row id → why its measurement failed
 * @param {Map<string, string>} [skippedRows] row id → why it was not measured (a client not installed, not asked for)
 */
export function summarize(defs, samples, skippedRuntimes, rowErrors, skippedRows = new Map()) {
  const rows = defs.map((def) => {
    const { id, section, label } = def;
    const row = { id, section, label, unit: SECTIONS[section].unit };
    const skipped = (def.runtime && skippedRuntimes.get(def.runtime)) || skippedRows.get(id);
    if (skipped) return { ...row, skipped };
    if (rowErrors.has(id)) return { ...row, error: rowErrors.get(id) };
    const values = samples.get(id) ?? [];
    if (values.length === 0) return { ...row, error: 'no samples (the run stopped before this row was measured)' };
    return { ...row, samples: values, median: median(values), min: Math.min(...values), max: Math.max(...values) };
  });
  const byId = new Map(rows.map((row) => [row.id, row]));
  for (const [index, def] of defs.entries()) {
    if (def.budget) rows[index].budget = judge(rows[index], def.budget, byId);
  }
  return rows;
}

/** A budget's verdict for one row; `pass` is null when a number it needs is missing. */
function judge(row, budget, byId) {
  if ('maxValue' in budget) {
    const text = `≤ ${formatValue(budget.maxValue, row.section)} ${SECTIONS[row.section].shownAs}`;
    return { text, maxValue: budget.maxValue, pass: row.median === undefined ? null : row.median <= budget.maxValue };
  }
  const baseline = byId.get(budget.ratioOf);
  const text = `≤ ${budget.limit.toFixed(2)} × ${budget.versus}`;
  if (row.median === undefined || baseline.median === undefined) {
    return { text, ratioOf: budget.ratioOf, limit: budget.limit, ratio: null, pass: null };
  }
  const ratio = row.median / baseline.median;
  return { text, ratioOf: budget.ratioOf, limit: budget.limit, ratio, pass: ratio <= budget.limit };
}

function formatValue(value, section) {
  switch (SECTIONS[section].shownAs) {
    case 'MiB':
      return (value / 1024).toFixed(2);
    case 's':
      return (value / 1000).toFixed(2);
    default:
      return value.toFixed(1);
  }
}

/** The human-readable table: one block per section, rows with median/min/max, ratio and verdict. */
export function formatTable(rows) {
  const lines = [];
  for (const [section, { title, shownAs }] of Object.entries(SECTIONS)) {
    const sectionRows = rows.filter((row) => row.section === section && !row.skipped);
    if (sectionRows.length === 0) continue;
    lines.push('', `${title} (${shownAs})`);
    const cells = sectionRows.map((row) => {
      if (row.error) return [row.label, 'error', '', '', '', `${row.error}`];
      const { budget } = row;
      const verdict = !budget ? '' : budget.pass === null ? 'n/a' : budget.pass ? 'PASS' : 'FAIL';
      return [
        row.label,
        formatValue(row.median, section),
        formatValue(row.min, section),
        formatValue(row.max, section),
        budget?.ratio != null ? `${budget.ratio.toFixed(2)}×` : '',
        budget ? `${verdict} ${budget.text}` : '',
      ];
    });
    const header = ['', 'median', 'min', 'max', 'ratio', 'budget'];
    const widths = header.map((h, col) => Math.max(h.length, ...cells.map((c) => c[col].length)));
    const format = (c) =>
      c
        .map((cell, col) => (col === 0 || col === c.length - 1 ? cell.padEnd(widths[col]) : cell.padStart(widths[col])))
        .join('  ')
        .trimEnd();
    lines.push(format(header), ...cells.map(format));
  }
  return lines.join('\n');
}
