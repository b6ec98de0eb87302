// @ts-check
// Turns one entry of scenarios.json (plus the environment's overrides) into a plan, the same way
// for both runners: the k6 scripts import this file, and so does the Artillery runner. It uses
// neither k6's nor Node's APIs, so each runner hands in how it reads a file.

/**
 * @typedef {'gpu' | 'cpu'} PoolName
 * @typedef {{ kind: 'constant', rate: number, timeUnitS: number, durationS: number }} ConstantArrival
 * @typedef {{ kind: 'ramping', startRate: number, timeUnitS: number, stages: { target: number, durationS: number }[] }} RampingArrival
 * @typedef {{ files: string[] } | { manifest: string } | { prepared: string }} AudioSpec
 * @typedef {{ maxFailedRate: number, p95Ms: number, rtfServerMin: Record<PoolName, number>, rtfE2eShare: number }} Thresholds
 * @typedef {{
 *   name: string,
 *   description: string,
 *   arrival: ConstantArrival | RampingArrival,
 *   vus: { preAllocated: number, max: number },
 *   audio: AudioSpec,
 *   largeFile: string | undefined,
 *   routing: 'alternate' | 'router' | PoolName,
 *   pools: PoolName[],
 *   requestTimeoutS: number,
 *   gracefulStopS: number,
 *   thresholds: Thresholds,
 *   steps: number[],
 * }} Plan
 * @typedef {{ kind: 'failed', max: number, planned: number }
 *   | { kind: 'p95_ms', max: number }
 *   | { kind: 'rtf_server' | 'rtf_e2e', pool: PoolName | null, min: number }} Threshold
 */

/** "90", "90s", "5m", "1h", "500ms" -> seconds (k6's duration syntax, which the env overrides use). */
export function parseDuration(/** @type {string | number} */ value) {
  if (typeof value === 'number') return value;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (!m) throw new Error(`not a duration: ${value}`);
  const unit = { ms: 0.001, s: 1, m: 60, h: 3600 }[m[2] ?? 's'] ?? 1;
  return Number(m[1]) * unit;
}

/** A positive number from the environment, or the fallback; a bad value is an error, not a silent default. */
function num(/** @type {string | undefined} */ value, /** @type {number} */ fallback, /** @type {string} */ what) {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${what} must be a positive number, got ${value}`);
  return n;
}

/**
 * k6's arrival-rate executors take whole arrivals per time unit: 0.3/s becomes 3 per 10 s, with the
 * same rate per second; Artillery gets the same numbers.
 * @template {ConstantArrival | RampingArrival} A
 * @param {A} arrival
 * @returns {A}
 */
function wholeRates(arrival) {
  const rates = arrival.kind === 'constant' ? [arrival.rate] : [arrival.startRate, ...arrival.stages.map((s) => s.target)];
  let f = 1;
  while (f < 1000 && rates.some((r) => Math.abs(r * f - Math.round(r * f)) > 1e-9)) f *= 10;
  if (f === 1) return arrival;
  const scale = (/** @type {number} */ r) => Math.round(r * f);
  return arrival.kind === 'constant'
    ? { ...arrival, rate: scale(arrival.rate), timeUnitS: arrival.timeUnitS * f }
    : { ...arrival, startRate: scale(arrival.startRate), timeUnitS: arrival.timeUnitS * f, stages: arrival.stages.map((s) => ({ ...s, target: scale(s.target) })) };
}

/**
 * The plan for scenario `name` of `file` (scenarios.json, parsed). Overrides, the same names in both
 * runners: RATE (arrivals per time unit; for a ramp, every stage's target), DURATION, FILES (batch:
 * requests in all), POOL (gpu|cpu: every request asks for that pool), MAX_VUS, P95_MS,
 * RTF_MIN_CPU, RTF_MIN_GPU, LARGE_FILE, REQUEST_TIMEOUT_S.
 * @param {any} file
 * @param {string} name
 * @param {Record<string, string | undefined>} env
 * @returns {Plan}
 */
export function resolvePlan(file, name, env) {
  const s = file.scenarios[name];
  if (!s) throw new Error(`no scenario '${name}' in scenarios.json (have: ${Object.keys(file.scenarios).join(', ')})`);
  const d = file.defaults;
  const a = s.arrival;
  /** @type {ConstantArrival | RampingArrival} */
  let arrival;
  if (a.stages) {
    const target = env.RATE ? num(env.RATE, 0, 'RATE') : undefined;
    arrival = { kind: 'ramping', startRate: a.startRate, timeUnitS: a.timeUnitS, stages: a.stages.map((/** @type {any} */ st) => ({ target: target ?? st.target, durationS: st.durationS })) };
  } else {
    const rate = num(env.RATE, a.rate, 'RATE');
    // a batch is a number of requests: its duration follows from the rate
    const count = a.count === undefined ? undefined : num(env.FILES, a.count, 'FILES');
    const durationS = count !== undefined ? Math.ceil((count / rate) * a.timeUnitS) : env.DURATION ? parseDuration(env.DURATION) : a.durationS;
    arrival = { kind: 'constant', rate, timeUnitS: a.timeUnitS, durationS };
  }
  const forced = env.POOL ? /** @type {PoolName} */ (env.POOL) : undefined;
  if (forced && forced !== 'gpu' && forced !== 'cpu') throw new Error(`POOL must be gpu or cpu, got ${forced}`);
  const th = { ...d.thresholds, ...s.thresholds };
  return {
    name,
    description: s.description,
    arrival: wholeRates(arrival),
    vus: { preAllocated: s.vus.preAllocated, max: num(env.MAX_VUS, s.vus.max, 'MAX_VUS') },
    audio: s.audio,
    largeFile: env.LARGE_FILE || undefined,
    routing: forced ?? s.pool,
    pools: forced ? [forced] : (s.pools ?? d.pools),
    requestTimeoutS: num(env.REQUEST_TIMEOUT_S, s.requestTimeoutS ?? d.requestTimeoutS, 'REQUEST_TIMEOUT_S'),
    gracefulStopS: s.gracefulStopS ?? d.gracefulStopS,
    thresholds: {
      maxFailedRate: th.maxFailedRate,
      p95Ms: num(env.P95_MS, th.p95Ms, 'P95_MS'),
      rtfServerMin: { gpu: num(env.RTF_MIN_GPU, th.rtfServerMin.gpu, 'RTF_MIN_GPU'), cpu: num(env.RTF_MIN_CPU, th.rtfServerMin.cpu, 'RTF_MIN_CPU') },
      rtfE2eShare: th.rtfE2eShare,
    },
    steps: s.steps ?? [],
  };
}

/** Requests per second the plan offers at its peak. */
export function peakRatePerS(/** @type {Plan} */ plan) {
  const a = plan.arrival;
  return (a.kind === 'constant' ? a.rate : Math.max(a.startRate, ...a.stages.map((s) => s.target))) / a.timeUnitS;
}

/**
 * Arrivals as consecutive slices of constant count: k6 runs the arrival executors itself, Artillery
 * runs these slices (its ramps tick once a second, too coarse for a few arrivals a minute). A ramp
 * is cut into slices of one time unit, the fractions carried so the total is the ramp's integral.
 * @param {Plan} plan
 * @returns {{ durationS: number, count: number }[]}
 */
export function arrivalSchedule(plan) {
  const a = plan.arrival;
  // k6 starts an iteration at 0, T, 2T, ... while t < duration: ceil(duration / T)
  if (a.kind === 'constant') return [{ durationS: a.durationS, count: Math.ceil((a.durationS * a.rate) / a.timeUnitS - 1e-9) }];
  const slices = [];
  let from = a.startRate;
  let carry = 0;
  for (const stage of a.stages) {
    const n = Math.max(1, Math.round(stage.durationS / a.timeUnitS));
    const sliceS = stage.durationS / n;
    for (let k = 0; k < n; k++) {
      const mid = from + ((stage.target - from) * (k + 0.5)) / n;
      const exact = (mid * sliceS) / a.timeUnitS + carry;
      const count = Math.round(exact);
      carry = exact - count;
      slices.push({ durationS: sliceS, count });
    }
    from = stage.target;
  }
  return slices;
}

export function totalArrivals(/** @type {Plan} */ plan) {
  return arrivalSchedule(plan).reduce((n, s) => n + s.count, 0);
}

/**
 * The i-th request: which audio file, and which pool it asks for (undefined: the router chooses).
 * Both runners number requests from 0 in arrival order (k6: exec.scenario.iterationInTest).
 * @template F
 * @param {Plan} plan
 * @param {number} i
 * @param {F[]} files
 * @returns {{ file: F, pool: PoolName | undefined }}
 */
export function requestAt(plan, i, files) {
  const file = files[i % files.length];
  if (plan.routing === 'router') return { file, pool: undefined };
  if (plan.routing === 'alternate') return { file, pool: plan.pools[i % plan.pools.length] };
  return { file, pool: plan.routing };
}

/**
 * The audio files of a plan, in order, as paths: `readText` reads a manifest (k6's open, or Node's
 * readFileSync); shared clips lie under `audioDir`, a prepared large file under `preparedDir`.
 * @param {Plan} plan
 * @param {{ audioDir: string, preparedDir: string, readText: (path: string) => string }} where
 * @returns {{ name: string, path: string }[]}
 */
export function audioFiles(plan, where) {
  const entry = (/** @type {string} */ path) => ({ name: path.split('/').pop() ?? path, path });
  const audio = plan.audio;
  if ('files' in audio) return audio.files.map((f) => entry(`${where.audioDir}/${f}`));
  if ('manifest' in audio) {
    const dir = audio.manifest.split('/').slice(0, -1).join('/');
    const manifest = JSON.parse(where.readText(`${where.audioDir}/${audio.manifest}`));
    return manifest.map((/** @type {{ audio: string }} */ c) => entry(`${where.audioDir}/${dir}/${c.audio}`));
  }
  return [entry(plan.largeFile ?? `${where.preparedDir}/${audio.prepared}`)];
}

/**
 * The pass/fail rules of a run. RTF floors apply per pool where the run picks the pool (alternating,
 * or POOL); where the router picks, to all answers together, at the lowest floor of the pools it may use.
 * @param {Plan} plan
 * @returns {Threshold[]}
 */
export function thresholdList(plan) {
  const t = plan.thresholds;
  /** @type {Threshold[]} */
  const list = [
    // the share of planned requests without a good answer: errors, wrong answers, and arrivals the
    // runner had no virtual user for (k6's dropped iterations, Artillery's skipped ones)
    { kind: 'failed', max: t.maxFailedRate, planned: totalArrivals(plan) },
    { kind: 'p95_ms', max: t.p95Ms },
  ];
  const rtf = (/** @type {PoolName | null} */ pool, /** @type {number} */ min) => {
    list.push({ kind: 'rtf_server', pool, min }, { kind: 'rtf_e2e', pool, min: min * t.rtfE2eShare });
  };
  if (plan.routing === 'router') rtf(null, Math.min(...plan.pools.map((p) => t.rtfServerMin[p])));
  else for (const p of plan.pools) rtf(p, t.rtfServerMin[p]);
  return list;
}
