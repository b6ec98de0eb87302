// GPU scale-to-zero comes back. At zero the GPU pool has no pod to report in-flight requests and the
// router sends its work to CPU, so a trigger on the pool's own series never fires. The chart's
// ScaledObject therefore also wakes on the router's demand series. KEDA and Prometheus do not run
// here: the test takes the trigger query as the chart renders it, parses it with Prometheus' own
// grammar, and evaluates its selector and increase() on what a real router process exports, with
// the target labels Prometheus gives a ServiceMonitor target (namespace, service).
import { readFileSync } from 'node:fs';
import { parser } from '@prometheus-io/lezer-promql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wordErrorRate } from '../src/text/wer.js';
import { startFunction, type RunningServer } from '../tools/local-stack.js';
import { installHelm, renderChart, type Manifest } from './chart-render.js';
import { audioPath, referenceText } from './helpers.js';

const SCALE_TO_ZERO = ['metrics.serviceMonitor.enabled=true', 'keda.enabled=true', 'pools.gpu.autoscaling.enabled=true', 'pools.gpu.autoscaling.scaleToZero=true', 'pools.cpu.autoscaling.enabled=true'];

interface Selector {
  metric: string;
  matchers: [string, string][];
  windowSeconds: number;
}

/** sum(increase(METRIC{l="v",...}[Ns])): the selector and window; throws on any other shape. */
function demandSelector(query: string): Selector {
  const cursor = parser.parse(query).cursor();
  const kinds: string[] = [];
  const text = (): string => query.slice(cursor.from, cursor.to);
  let metric = '';
  let windowSeconds = 0;
  const matchers: [string, string][] = [];
  let label = '';
  do {
    if (cursor.type.isError) throw new Error(`PromQL syntax error at ${cursor.from} in ${query}`);
    kinds.push(cursor.type.name);
    if (cursor.type.name === 'Identifier' && cursor.node.parent?.type.name === 'VectorSelector') metric = text();
    if (cursor.type.name === 'LabelName') label = text();
    if (cursor.type.name === 'MatchOp' && text() !== '=') throw new Error(`only = matchers are evaluated here: ${query}`);
    if (cursor.type.name === 'StringLiteral') matchers.push([label, JSON.parse(text()) as string]);
    if (cursor.type.name === 'NumberDurationLiteralInDurationContext') windowSeconds = Number(/^(\d+)s$/.exec(text())![1]);
  } while (cursor.next());
  expect(kinds).toContain('Sum');
  expect(kinds).toContain('Increase');
  return { metric, matchers, windowSeconds };
}

/** The series of one metric in a Prometheus text exposition, with their labels. */
function exposition(text: string, metric: string): { labels: Record<string, string>; value: number }[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${metric}{`) || l.startsWith(`${metric} `))
    .map((l) => {
      const inside = l.includes('{') ? l.slice(l.indexOf('{') + 1, l.lastIndexOf('}')) : '';
      const labels = Object.fromEntries([...inside.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
      return { labels, value: Number(l.slice(l.lastIndexOf(' ') + 1)) };
    });
}

describe('GPU pool scaled to zero: the router’s demand wakes it (real router and CPU instance on 127.0.0.1)', () => {
  let cpu: RunningServer;
  let router: RunningServer;
  let manifests: Manifest[];

  beforeAll(async () => {
    const out = renderChart(installHelm(), SCALE_TO_ZERO);
    expect(out.ok, out.stderr).toBe(true);
    manifests = out.manifests;
    cpu = await startFunction('transcribe', { AUDIODECODE_POOL: 'cpu', AUDIODECODE_INSTANCE: 'cpu-1' });
    // the GPU pool at zero replicas: no endpoint at all
    router = await startFunction('router', { ROUTER_GPU_ENDPOINTS: '', ROUTER_CPU_ENDPOINTS: cpu.url });
  }, 180_000);

  afterAll(async () => {
    await Promise.all([router, cpu].filter(Boolean).map((s) => s.stop()));
  });

  it('the wake trigger selects the router Service the ServiceMonitor scrapes', () => {
    const gpu = manifests.find((m) => m.kind === 'ScaledObject' && m.metadata.name === 'rel-gpu')!;
    expect(gpu.spec.minReplicaCount).toBe(0);
    const wake = gpu.spec.triggers.find((t: { name?: string }) => t.name === 'router-demand');
    const { matchers } = demandSelector(wake.metadata.query);
    const routerService = manifests.find((m) => m.kind === 'Service' && m.metadata.name === 'rel-router')!;
    const monitor = manifests.find((m) => m.kind === 'ServiceMonitor')!;
    for (const [k, v] of Object.entries(monitor.spec.selector.matchLabels as Record<string, string>)) expect(routerService.metadata.labels![k]).toBe(v);
    expect(Object.fromEntries(matchers)).toMatchObject({ service: 'rel-router', namespace: 'audio', pool: 'gpu' });
  });

  it('a request with no GPU endpoint is answered by CPU, and the wake trigger’s value rises above its activation threshold', async () => {
    const gpu = manifests.find((m) => m.kind === 'ScaledObject' && m.metadata.name === 'rel-gpu')!;
    const wake = gpu.spec.triggers.find((t: { name?: string }) => t.name === 'router-demand');
    const inFlight = gpu.spec.triggers[0];
    const { metric, matchers, windowSeconds } = demandSelector(wake.metadata.query);
    expect(windowSeconds).toBeGreaterThan(0);
    const targetLabels = { namespace: 'audio', service: 'rel-router' }; // added by Prometheus to the router's target
    const sample = async (): Promise<number> => {
      const text = await (await fetch(`${router.url}/metrics`)).text();
      // the pool's own trigger reads a series no router exports: at zero nothing reports it
      expect(text).not.toContain(`${/^sum\((\w+)/.exec(inFlight.metadata.query)![1]}{`);
      const selected = exposition(text, metric).filter((s) => {
        const labels: Record<string, string> = { ...s.labels, ...targetLabels };
        return matchers.every(([k, v]) => labels[k] === v);
      });
      expect(selected, `${metric} with ${JSON.stringify(matchers)}`).toHaveLength(1);
      return selected[0].value;
    };
    // the series exists before the first request, so increase() sees that request
    const before = await sample();
    expect(before).toBe(0);

    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(readFileSync(audioPath('jfk.wav')))]), 'jfk.wav');
    form.append('model', 'whisper-1');
    const res = await fetch(`${router.url}/v1/audio/transcriptions`, { method: 'POST', body: form });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-audiodecode-pool')).toBe('cpu');
    expect(wordErrorRate(referenceText('jfk.wav'), ((await res.json()) as { text: string }).text)).toBe(0);

    // increase() over the window, from two samples inside it; KEDA activates above activationThreshold
    const increase = (await sample()) - before;
    expect(increase).toBe(1);
    expect(increase).toBeGreaterThan(Number(wake.metadata.activationThreshold));
    // a threshold no count reaches: this trigger asks for one pod, the in-flight trigger for more
    expect(Math.ceil(increase / Number(wake.metadata.threshold))).toBe(1);
  });

  it('a request that asks for the CPU pool is no demand for the GPU pool', async () => {
    const read = async (pool: string) => exposition(await (await fetch(`${router.url}/metrics`)).text(), 'audiodecode_router_pool_demand_total').find((s) => s.labels.pool === pool)!.value;
    const [gpu0, cpu0] = [await read('gpu'), await read('cpu')];
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(readFileSync(audioPath('jfk.wav')))]), 'jfk.wav');
    form.append('model', 'whisper-1');
    const res = await fetch(`${router.url}/v1/audio/transcriptions`, { method: 'POST', body: form, headers: { 'X-AudioDecode-Pool': 'cpu' } });
    expect(res.status).toBe(200);
    expect([await read('gpu'), await read('cpu')]).toEqual([gpu0, cpu0 + 1]);
  });
});
