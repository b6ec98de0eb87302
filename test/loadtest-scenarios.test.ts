import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { projectRoot } from '../src/env.js';
import { arrivalSchedule, resolvePlan, totalArrivals } from '../loadtest/plan.js';
import { artilleryScript, payloadRows } from '../loadtest/runner/artillery-script.js';
import { filesFor, planFor } from '../loadtest/runner/run.js';
import { audioDir } from './helpers.js';
import { k6State } from './k6-stub/state.js';

// The k6 scripts run here under vitest with test/k6-stub in place of k6's modules (k6 itself is
// AGPL and never installed): their options and the requests they make are compared with what the
// Artillery runner builds from the same scenarios.json.
const k6Dir = join(projectRoot, 'loadtest', 'k6');
const scenariosPath = join(projectRoot, 'loadtest', 'scenarios.json');
const raw = () => JSON.parse(readFileSync(scenariosPath, 'utf8'));
const opened: string[] = [];

/** Imports a k6 script afresh (its init context runs again) with k6's `open` and `__ENV` in place. */
async function loadK6(name: string, env: Record<string, string>) {
  vi.resetModules();
  const g = globalThis as unknown as { __ENV: Record<string, string>; open: (path: string, mode?: 'b') => string | ArrayBuffer };
  g.__ENV = { AUDIO_DIR: audioDir, ...env };
  // k6 resolves open()'s relative paths from the scripts' folder
  g.open = (path, mode) => {
    const abs = isAbsolute(path) ? path : resolve(k6Dir, path);
    opened.push(abs);
    const buf = readFileSync(abs);
    return mode === 'b' ? buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) : buf.toString('utf8');
  };
  return (await import(`../loadtest/k6/${name}.js`)) as { options: any; default: () => void };
}

/** k6 thresholds and Artillery ensure conditions, each as [metric, pool, op, value]. */
function k6Rules(thresholds: Record<string, string[]>): (string | number | null)[][] {
  return Object.entries(thresholds).flatMap(([key, rules]) =>
    rules.flatMap((rule) => {
      const [, metric, pool] = /^(\w+)(?:\{pool:(\w+)\})?$/.exec(key)!;
      const [, stat, op, value] = /^(rate|count|p\(95\)|med)(<|>=|>)(.+)$/.exec(rule)!;
      // k6 says "failed" in three metrics: errors, failed checks and dropped iterations
      if (metric === 'checks') return [['checks', null, op, Number(value)]];
      if (metric === 'dropped_iterations') return [['dropped', null, op, Number(value)]];
      const name = metric === 'http_req_failed' ? 'failed' : metric === 'http_req_duration' && stat === 'p(95)' ? 'p95_ms' : metric;
      return [[name, pool ?? null, op, Number(value)]];
    }),
  );
}
function artilleryRules(conditions: { expression: string }[]): (string | number | null)[][] {
  return conditions.flatMap(({ expression }) => {
    let m = /^1 - transcriptions\.ok \/ (\d+) (<) (.+)$/.exec(expression);
    // one Artillery rule over all planned requests is k6's three
    if (m) return [['failed', null, m[2], Number(m[3])], ['checks', null, '>', 1 - Number(m[3])], ['dropped', null, '<', Number(m[3]) * Number(m[1])]];
    m = /^latency_ms\.p95 (<) (.+)$/.exec(expression);
    if (m) return [['p95_ms', null, m[1], Number(m[2])]];
    m = /^(rtf_server|rtf_e2e)(?:\.(gpu|cpu))?\.median (>=) (.+)$/.exec(expression)!;
    return [[m[1], m[2] ?? null, m[3], Number(m[4])]];
  });
}
const sortRules = (r: (string | number | null)[][]) => r.map((x) => JSON.stringify(x)).sort();

describe('one scenario definition for k6 and Artillery', () => {
  beforeEach(() => {
    k6State.reset();
    opened.length = 0;
  });
  afterEach(() => vi.unstubAllEnvs());

  for (const name of ['smoke', 'small-files', 'large-files', 'batch', 'cluster']) {
    it(`${name}: k6's options, Artillery's phases and both runners' thresholds come from scenarios.json`, async () => {
      const env = { LARGE_FILE: join(audioDir, 'jfk.wav') };
      const k6 = await loadK6(name, env);
      expect(opened).toContain(scenariosPath);
      const s = raw().scenarios[name];
      const [k6Scenario] = Object.values(k6.options.scenarios) as any[];
      const plan = planFor(name, env);
      const script = artilleryScript(plan, { baseUrl: 'http://127.0.0.1:1', payloadPath: 'p.csv', processorPath: 'p.ts' });
      const phases = script.config!.phases as { duration?: number; pause?: number; arrivalCount?: number }[];
      const phaseSeconds = phases.reduce((t, p) => t + (p.duration ?? p.pause ?? 0), 0);
      const phaseArrivals = phases.reduce((n, p) => n + (p.arrivalCount ?? 0), 0);
      if (s.arrival.stages) {
        expect(k6Scenario).toMatchObject({ executor: 'ramping-arrival-rate', startRate: s.arrival.startRate, timeUnit: `${s.arrival.timeUnitS}s` });
        expect(k6Scenario.stages).toEqual(s.arrival.stages.map((st: any) => ({ target: st.target, duration: `${st.durationS}s` })));
        // Artillery's slices add up to the ramp: its length, and the integral of its rate
        const seconds = s.arrival.stages.reduce((t: number, st: any) => t + st.durationS, 0);
        let from = s.arrival.startRate;
        let integral = 0;
        for (const st of s.arrival.stages) {
          integral += (((from + st.target) / 2) * st.durationS) / s.arrival.timeUnitS;
          from = st.target;
        }
        expect(phaseSeconds).toBeCloseTo(seconds, 6);
        expect(Math.abs(phaseArrivals - integral)).toBeLessThanOrEqual(0.5);
      } else {
        const durationS = s.arrival.count ? Math.ceil((s.arrival.count / s.arrival.rate) * s.arrival.timeUnitS) : s.arrival.durationS;
        expect(k6Scenario).toMatchObject({ executor: 'constant-arrival-rate', rate: s.arrival.rate, timeUnit: `${s.arrival.timeUnitS}s`, duration: `${durationS}s` });
        // k6 starts one iteration every timeUnit/rate while t < duration
        expect(phaseSeconds).toBe(durationS);
        expect(phaseArrivals).toBe(Math.ceil((durationS * s.arrival.rate) / s.arrival.timeUnitS));
      }
      expect(k6Scenario.maxVUs).toBe(s.vus.max);
      expect(phases.every((p) => p.pause !== undefined || (p as any).maxVusers === s.vus.max)).toBe(true);
      // the same rules on both sides, with the numbers of the file
      const k6r = k6Rules(k6.options.thresholds);
      expect(sortRules(k6r)).toEqual(sortRules(artilleryRules(script.config!.ensure!.conditions!)));
      const th = { ...raw().defaults.thresholds, ...s.thresholds };
      expect(k6r).toContainEqual(['p95_ms', null, '<', th.p95Ms]);
      expect(k6r).toContainEqual(['failed', null, '<', th.maxFailedRate]);
      const floors = k6r.filter((r) => r[0] === 'rtf_server');
      if (s.pool === 'alternate') expect(floors).toEqual(expect.arrayContaining([['rtf_server', 'gpu', '>=', th.rtfServerMin.gpu], ['rtf_server', 'cpu', '>=', th.rtfServerMin.cpu]]));
      else expect(floors).toEqual([['rtf_server', null, '>=', Math.min(...(s.pools ?? raw().defaults.pools).map((p: 'gpu' | 'cpu') => th.rtfServerMin[p]))]]);
    });
  }

  for (const name of ['smoke', 'batch', 'small-files']) {
    it(`${name}: k6's iterations send the files and pool headers of Artillery's payload, in order`, async () => {
      const k6 = await loadK6(name, {});
      const rows = payloadRows(planFor(name, {}), filesFor(planFor(name, {})));
      const n = Math.min(rows.length, 90);
      for (let i = 0; i < n; i++) {
        k6State.iterationInTest = i;
        k6.default();
      }
      expect(k6State.posts.map((p) => [p.filename, p.headers['X-AudioDecode-Pool'] ?? '', p.bytes])).toEqual(rows.slice(0, n).map((r) => [r.name, r.pool, statSync(r.path).size]));
      expect(k6State.posts[0].fields).toEqual({ model: 'whisper-1', response_format: 'verbose_json' });
      // and each answer feeds the metrics both runners report, tagged with the pool that answered
      expect(new Set(k6State.metrics.map((m) => m.name))).toEqual(new Set(['audio_seconds', 'requests_by_pool', 'rtf_server', 'rtf_e2e']));
      expect(k6State.metrics.find((m) => m.name === 'rtf_e2e')!.value).toBe(10 / 0.5);
    });
  }

  it('a changed scenario file changes both runners alike (SCENARIOS_FILE, read by each)', async () => {
    const file = raw();
    file.scenarios.smoke.arrival = { rate: 3, timeUnitS: 4, durationS: 8 };
    file.scenarios.smoke.audio.files = ['gettysburg.ogg'];
    file.defaults.thresholds.p95Ms = 1234;
    const path = join(mkdtempSync(join(tmpdir(), 'scenarios-')), 'scenarios.json');
    writeFileSync(path, JSON.stringify(file));
    const env = { SCENARIOS_FILE: path };
    const k6 = await loadK6('smoke', env);
    expect(opened).toContain(path);
    expect(k6.options.scenarios.smoke).toMatchObject({ rate: 3, timeUnit: '4s', duration: '8s' });
    expect(k6.options.thresholds.http_req_duration).toEqual(['p(95)<1234']);
    const plan = planFor('smoke', env);
    expect(totalArrivals(plan)).toBe(6);
    const script = artilleryScript(plan, { baseUrl: 'http://127.0.0.1:1', payloadPath: 'p.csv', processorPath: 'p.ts' });
    expect(script.config!.ensure!.conditions).toContainEqual({ expression: 'latency_ms.p95 < 1234' });
    expect(new Set(payloadRows(plan, filesFor(plan)).map((r) => r.name))).toEqual(new Set(['gettysburg.ogg']));
  });

  it('overrides are read the same way: fractional rates become whole arrivals per time unit, as k6 needs', async () => {
    // smoke: 1 per 2 s; RATE=0.3 per 2 s is 3 per 20 s
    const env = { RATE: '0.3', DURATION: '20s', POOL: 'cpu', RTF_MIN_CPU: '5' };
    const k6 = await loadK6('smoke', env);
    expect(k6.options.scenarios.smoke).toMatchObject({ rate: 3, timeUnit: '20s', duration: '20s' });
    expect(k6.options.thresholds).toMatchObject({ 'rtf_server{pool:cpu}': ['med>=5'], 'rtf_e2e{pool:cpu}': ['med>=2.5'] });
    expect(k6.options.thresholds['rtf_server{pool:gpu}']).toBeUndefined();
    const plan = planFor('smoke', env);
    expect(arrivalSchedule(plan)).toEqual([{ durationS: 20, count: 3 }]);
    expect(new Set(payloadRows(plan, filesFor(plan)).map((r) => r.pool))).toEqual(new Set(['cpu']));
    expect(() => resolvePlan(raw(), 'smoke', { RATE: 'fast' })).toThrow(/RATE must be a positive number/);
    expect(() => resolvePlan(raw(), 'smoke', { POOL: 'tpu' })).toThrow(/POOL must be gpu or cpu/);
    expect(() => resolvePlan(raw(), 'nope', {})).toThrow(/no scenario 'nope'/);
  });
});

describe('k6 is a deliverable, never a tool here', () => {
  it('the k6 scripts are type-checked against @types/k6, and a misuse of its API fails the check', () => {
    const tsc = join(projectRoot, 'node_modules', 'typescript', 'bin', 'tsc');
    const listed = execFileSync(process.execPath, [tsc, '-p', k6Dir, '--listFilesOnly'], { encoding: 'utf8' });
    for (const f of ['lib.js', 'smoke.js', 'small-files.js', 'large-files.js', 'batch.js', 'cluster.js']) expect(listed).toContain(join(k6Dir, f));
    expect(listed).toMatch(/@types\/k6\/http\/index\.d\.ts/);
    // the same compiler options on a script that passes a wrong option to http.post
    const dir = mkdtempSync(join(k6Dir, '.typecheck-'));
    try {
      writeFileSync(join(dir, 'bad.js'), "// @ts-check\nimport http from 'k6/http';\nhttp.post('http://127.0.0.1/', null, { timeout: 5, tagz: {} });\n");
      writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ extends: '../tsconfig.json', include: ['bad.js'] }));
      const r = spawnSync(process.execPath, [tsc, '-p', dir], { encoding: 'utf8' });
      expect(r.status).not.toBe(0);
      expect(r.stdout).toMatch(/bad\.js\(3,.*error TS/);
    } finally {
      execFileSync('rm', ['-rf', dir]);
    }
  });

  it('no project script, CI step or tool installs or runs k6', () => {
    const pkg = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8'));
    const ci = readFileSync(join(projectRoot, '.ci', 'run'), 'utf8');
    const runsK6 = /\bk6 (run|version)\b|install-k6|go\.k6\.io|xk6|\bgo install\b/;
    for (const [name, cmd] of Object.entries(pkg.scripts as Record<string, string>)) expect(`${name}: ${cmd}`).not.toMatch(runsK6);
    expect(ci).not.toMatch(runsK6);
    // CI needs Go for the cluster test's control plane, and only for that: no Go-built tool names k6
    const goBuild = readFileSync(join(projectRoot, 'tools', 'cluster', 'build.sh'), 'utf8');
    expect(goBuild).not.toMatch(/k6/);
    expect(existsSync(join(projectRoot, 'tools', 'install-k6.sh'))).toBe(false);
    expect(Object.keys({ ...pkg.dependencies, ...pkg.devDependencies }).filter((d) => d === 'k6' || d.startsWith('xk6'))).toEqual([]);
    expect(pkg.scripts['loadtest:smoke']).toMatch(/run-smoke\.ts/);
    expect(ci).toMatch(/npm run loadtest:smoke/);
  });
});
