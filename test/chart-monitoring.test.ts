// The chart's alerts (PrometheusRule) and Grafana dashboard: every query parses as PromQL (the
// Prometheus project's own grammar, @prometheus-io/lezer-promql) and reads only series our
// processes export, by the names their registries hold, with the pool label the ServiceMonitor adds.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parser } from '@prometheus-io/lezer-promql';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { Balancer } from '../functions/router/balancer.js';
import { StaticEndpoints } from '../functions/router/discovery.js';
import { createRouterMetrics } from '../functions/router/metrics.js';
import { createMetrics } from '../functions/transcribe/metrics.js';
import { projectRoot } from '../src/env.js';
import { installHelm, renderChart } from './chart-render.js';

const ON = ['metrics.serviceMonitor.enabled=true', 'metrics.prometheusRule.enabled=true', 'metrics.dashboard.enabled=true'];
let helm: string;

const render = (sets: string[]) => renderChart(helm, sets);

/** Metric names in a PromQL expression; throws on a syntax error. */
function metricsIn(expr: string): string[] {
  const names: string[] = [];
  const cursor = parser.parse(expr).cursor();
  do {
    if (cursor.type.isError) throw new Error(`PromQL syntax error at ${cursor.from} in: ${expr}`);
    if (cursor.type.name === 'Identifier' && cursor.node.parent?.type.name === 'VectorSelector') names.push(expr.slice(cursor.from, cursor.to));
  } while (cursor.next());
  return names;
}

/** What our processes export: the real registries' metric names, histograms with their series suffixes. */
async function exported(): Promise<Set<string>> {
  const registries = [createMetrics(() => 0).registry, createRouterMetrics(new Balancer(3, 1000), new StaticEndpoints({ gpu: [], cpu: [] })).registry];
  const names = new Set<string>();
  for (const r of registries) {
    for (const m of await r.getMetricsAsJSON()) {
      names.add(m.name);
      if (String(m.type) === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(m.name + s);
    }
  }
  return names;
}

beforeAll(() => {
  helm = installHelm();
});

describe('chart monitoring: PrometheusRule and Grafana dashboard', () => {
  it('the PrometheusRule alerts on errors, RTF, full admission per pool and no ready GPU endpoint, with queries that parse and read our series', async () => {
    const rule = render(ON).manifests.find((m) => m.kind === 'PrometheusRule')!;
    const rules = rule.spec.groups[0].rules as { alert: string; expr: string; labels: Record<string, string> }[];
    expect(rules.map((r) => r.alert)).toEqual(['AudioDecodeErrorRate', 'AudioDecodeRtfBelowTarget', 'AudioDecodeQueueSaturated', 'AudioDecodeQueueSaturated', 'AudioDecodeNoReadyGpuEndpoint']);
    const ours = await exported();
    for (const r of rules) {
      const names = metricsIn(r.expr);
      expect(names.length, r.alert).toBeGreaterThan(0);
      for (const n of names) expect(ours, `${r.alert} reads ${n}`).toContain(n);
      expect(r.expr).toContain('namespace="audio"');
    }
    // 90% of each pool's admission slots (maxQueue 64 and 32)
    expect(rules.filter((r) => r.alert === 'AudioDecodeQueueSaturated').map((r) => r.expr.trim().split('>= ')[1])).toEqual(['58', '29']);
    // a GPU pool that may scale to zero has no GPU endpoint by design: no alert for it then
    const toZero = render([...ON, 'keda.enabled=true', 'pools.gpu.autoscaling.enabled=true', 'pools.gpu.autoscaling.scaleToZero=true']).manifests.find((m) => m.kind === 'PrometheusRule')!;
    expect(toZero.spec.groups[0].rules.map((r: { alert: string }) => r.alert)).not.toContain('AudioDecodeNoReadyGpuEndpoint');
  });

  it('the dashboard ConfigMap carries the sidecar label and panels for requests, latency, RTF, queue, batch sizes and the router, all on our series', async () => {
    const map = render(ON).manifests.find((m) => m.kind === 'ConfigMap' && m.metadata.name === 'rel-dashboard')!;
    expect(map.metadata.labels?.grafana_dashboard).toBe('1');
    const dashboard = JSON.parse(map.data['audiodecode.json']);
    const exprs: string[] = dashboard.panels.flatMap((p: { targets: { expr: string }[] }) => p.targets.map((t) => t.expr));
    const read = new Set(exprs.flatMap((e) => metricsIn(e.replaceAll('$namespace', 'audio'))));
    const ours = await exported();
    for (const n of read) expect(ours, `the dashboard reads ${n}`).toContain(n);
    for (const n of ['audiodecode_requests_total', 'audiodecode_request_seconds_bucket', 'audiodecode_rtf_bucket', 'audiodecode_queue_depth', 'audiodecode_batch_size_bucket', 'audiodecode_router_ready_endpoints']) expect(read).toContain(n);
  });

  it('is off by default, and either one without the ServiceMonitor fails the render naming the value to set', () => {
    expect(render([]).manifests.filter((m) => m.kind === 'PrometheusRule' || m.metadata?.name === 'rel-dashboard')).toEqual([]);
    for (const what of ['prometheusRule', 'dashboard']) {
      const out = render([`metrics.${what}.enabled=true`]);
      expect(out.ok).toBe(false);
      expect(out.stderr).toContain(`metrics.${what}.enabled=true needs metrics.serviceMonitor.enabled=true`);
    }
  });

  it('every per-pod metric an HPA asks for (pools and router) is one the prometheus-adapter values serve, one value per pod, from our series', async () => {
    const adapter = parseYaml(readFileSync(join(projectRoot, 'infra', 'prometheus-adapter-values.yaml'), 'utf8')) as { rules: { custom: { seriesQuery: string; name: { as: string }; metricsQuery: string }[] } };
    const served = new Map(adapter.rules.custom.map((r) => [r.name.as, r]));
    const hpas = render(['metrics.serviceMonitor.enabled=true', 'pools.gpu.autoscaling.enabled=true', 'pools.cpu.autoscaling.enabled=true', 'router.autoscaling.enabled=true']).manifests.filter((m) => m.kind === 'HorizontalPodAutoscaler');
    const asked = hpas.map((h) => ({ name: h.metadata.name, metric: h.spec.metrics.find((m: { type: string }) => m.type === 'Pods')?.pods.metric.name }));
    expect(asked.map((a) => a.name).sort()).toEqual(['rel-cpu', 'rel-gpu', 'rel-router']);
    expect(asked.find((a) => a.name === 'rel-router')!.metric).toBe('audiodecode_router_in_flight_requests');
    const ours = await exported();
    for (const { name, metric } of asked) {
      const rule = served.get(metric);
      expect(rule, `${name} asks for ${metric}`).toBeDefined();
      // grouped by the adapter's GroupBy (the pod): a pod scraped twice still gives one value
      expect(rule!.metricsQuery).toMatch(/^\w+ by \(<<\.GroupBy>>\)/);
      const query = rule!.metricsQuery.replaceAll('<<.Series>>', metric).replaceAll('<<.LabelMatchers>>', 'namespace="audio",pod=~"rel-.*"').replaceAll('<<.GroupBy>>', 'pod');
      expect(metricsIn(query)).toEqual([metric]);
      expect(ours).toContain(metric);
    }
  });

  it("the pools' NetworkPolicy admits scrapes from the monitoring namespace only, not from every namespace", () => {
    const policy = (sets: string[]) => render(sets).manifests.find((m) => m.kind === 'NetworkPolicy')!.spec.ingress[0].from;
    expect(policy([])).toEqual([{ podSelector: { matchLabels: { 'app.kubernetes.io/instance': 'rel' } } }]);
    expect(policy(['metrics.serviceMonitor.enabled=true', 'metrics.serviceMonitor.scrapeNamespace=observability'])).toEqual([
      { podSelector: { matchLabels: { 'app.kubernetes.io/instance': 'rel' } } },
      { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'observability' } } },
    ]);
  });

  it('a PromQL mistake would be caught: the parser rejects a broken query', () => {
    expect(() => metricsIn('sum by (pool (rate(audiodecode_requests_total[5m])')).toThrow(/syntax error/);
  });
});
