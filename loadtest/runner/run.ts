// Runs one scenario of loadtest/scenarios.json with Artillery against a base URL: writes the
// Artillery script and its payload, runs `artillery run` (exit 1 when an ensure check fails), and
// leaves NAME-report.md, NAME-report.svg and Artillery's own JSON in the results folder.
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { projectRoot, sharedDir } from '../../src/env.js';
import { audioFiles, resolvePlan, type Plan } from '../plan.js';
import { artilleryScript, payloadCsv, payloadRows } from './artillery-script.js';
import { parseChecks, reportMarkdown, requestsChartSvg, summarize, type RequestRecord, type RunSummary } from './report.js';

export const loadtestDir = join(projectRoot, 'loadtest');
export const defaultResultsDir = join(loadtestDir, 'results');

/** scenarios.json, or the file SCENARIOS_FILE names (the k6 scripts take the same variable) */
export function readScenarios(file?: string): unknown {
  return JSON.parse(readFileSync(file || join(loadtestDir, 'scenarios.json'), 'utf8'));
}

export function planFor(name: string, env: Record<string, string | undefined>): Plan {
  return resolvePlan(readScenarios(env.SCENARIOS_FILE), name, env);
}

export function filesFor(plan: Plan): { name: string; path: string }[] {
  const files = audioFiles(plan, { audioDir: join(sharedDir(), 'audio'), preparedDir: defaultResultsDir, readText: (p) => readFileSync(p, 'utf8') });
  const missing = files.filter((f) => !existsSync(f.path));
  if (missing.length) throw new Error(`audio missing: ${missing.map((f) => f.path).join(', ')}${'prepared' in plan.audio ? ' (npm run loadtest:prepare makes it)' : ''}`);
  return files;
}

const artillery = (() => {
  const require = createRequire(import.meta.url);
  const dir = dirname(require.resolve('artillery/package.json'));
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string };
  return { bin: join(dir, 'bin', 'run'), version: pkg.version };
})();

export interface RunOptions {
  baseUrl: string;
  /** overrides as in scenarios.json's plan (RATE, DURATION, POOL, ...); default: process.env */
  env?: Record<string, string | undefined>;
  resultsDir?: string;
  /** file name stem of this run's outputs; default: the scenario name */
  label?: string;
  /** copy Artillery's console output to stderr as it comes */
  echo?: boolean;
}

export interface RunResult {
  summary: RunSummary;
  exitCode: number;
  reportPath: string;
}

export async function runScenario(name: string, opts: RunOptions): Promise<RunResult> {
  const env = opts.env ?? process.env;
  const plan = planFor(name, env);
  const dir = opts.resultsDir ?? defaultResultsDir;
  const label = opts.label ?? name;
  mkdirSync(dir, { recursive: true });
  const out = (suffix: string) => join(dir, `${label}${suffix}`);
  writeFileSync(out('.payload.csv'), payloadCsv(payloadRows(plan, filesFor(plan))));
  const script = artilleryScript(plan, { baseUrl: opts.baseUrl, payloadPath: out('.payload.csv'), processorPath: join(loadtestDir, 'runner', 'processor', 'processor.ts') });
  writeFileSync(out('.artillery-script.json'), JSON.stringify(script, null, 2));
  for (const f of ['.requests.jsonl', '.artillery.json']) rmSync(out(f), { force: true });

  const log = createWriteStream(out('.artillery.log'));
  let output = '';
  const exitCode = await new Promise<number>((resolve, reject) => {
    const child = spawn(process.execPath, [artillery.bin, 'run', '--output', out('.artillery.json'), out('.artillery-script.json')], {
      cwd: projectRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        AUDIODECODE_LOADTEST_LOG: out('.requests.jsonl'),
        // no usage reports (nothing outside 127.0.0.1 is reachable anyway) and plain text to parse
        ARTILLERY_DISABLE_TELEMETRY: 'true',
        NO_COLOR: '1',
        FORCE_COLOR: '0',
      },
    });
    const take = (d: Buffer) => {
      output += d;
      log.write(d);
      if (opts.echo) process.stderr.write(d);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? 1));
  });
  await new Promise((r) => log.end(r));

  if (!existsSync(out('.artillery.json'))) throw new Error(`artillery exited ${exitCode} without a report:\n${output.slice(-4000)}`);
  const aggregate = JSON.parse(readFileSync(out('.artillery.json'), 'utf8')).aggregate;
  const records: RequestRecord[] = existsSync(out('.requests.jsonl'))
    ? readFileSync(out('.requests.jsonl'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l))
    : [];
  // ensure logs failures first: list the checks in the scenario's own order
  const order = (script.config?.ensure?.conditions ?? []).map((c) => c.expression);
  const checks = parseChecks(output).sort((a, b) => order.indexOf(a.expression) - order.indexOf(b.expression));
  const summary = summarize(plan, opts.baseUrl, `Artillery ${artillery.version}`, aggregate, records, checks, exitCode);
  let svgName: string | undefined;
  if (records.some((r) => r.ok)) {
    svgName = `${label}-report.svg`;
    writeFileSync(join(dir, svgName), await requestsChartSvg(`${name}: latency and RTF per request (${summary.tool})`, records));
  }
  const reportPath = out('-report.md');
  writeFileSync(reportPath, reportMarkdown(plan, summary, svgName));
  writeFileSync(out('-summary.json'), JSON.stringify(summary, null, 2) + '\n');
  return { summary, exitCode, reportPath };
}
