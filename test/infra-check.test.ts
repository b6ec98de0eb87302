import { createServer, type Server } from 'node:http';
import * as k8s from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { checkCluster } from '../infra/check.js';

// A stand-in for the Kubernetes API (no cluster runs here), named as such: a loopback server
// answering the list calls infra:check makes, with recorded objects, and the custom-metrics API
// (prometheus-adapter's) from a table of per-pod values.
interface Cluster {
  nodes: object[];
  daemonsets: object[];
  apiservices: object[];
  hpas?: object[];
  /** metric name -> pod name -> value, as prometheus-adapter would serve them for namespace "audio" */
  customMetrics?: Record<string, Record<string, string>>;
}

let server: Server | undefined;

async function kubeConfigFor(cluster: Cluster): Promise<k8s.KubeConfig> {
  server = createServer((req, res) => {
    const path = new URL(req.url!, 'http://x').pathname;
    const lists: Record<string, [string, object[]]> = {
      '/api/v1/nodes': ['NodeList', cluster.nodes],
      '/apis/apps/v1/daemonsets': ['DaemonSetList', cluster.daemonsets],
      '/apis/apiregistration.k8s.io/v1/apiservices': ['APIServiceList', cluster.apiservices],
    };
    const hpaPath = '/apis/autoscaling/v2/namespaces/audio/horizontalpodautoscalers';
    if (path === hpaPath) lists[hpaPath] = ['HorizontalPodAutoscalerList', cluster.hpas ?? []];
    const custom = /^\/apis\/custom\.metrics\.k8s\.io\/v1beta1\/namespaces\/audio\/pods\/\*\/(\w+)$/.exec(path);
    if (custom) {
      const pods = cluster.customMetrics?.[custom[1]];
      if (!pods) return void res.writeHead(404, { 'Content-Type': 'application/json' }).end(JSON.stringify({ kind: 'Status', code: 404, message: `the server could not find the metric ${custom[1]} for pods` }));
      const items = Object.entries(pods).map(([name, value]) => ({ describedObject: { kind: 'Pod', namespace: 'audio', name, apiVersion: '/v1' }, metricName: custom[1], value }));
      return void res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ kind: 'MetricValueList', apiVersion: 'custom.metrics.k8s.io/v1beta1', metadata: {}, items }));
    }
    const hit = lists[path];
    if (!hit) return void res.writeHead(404).end();
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ kind: hit[0], apiVersion: 'v1', metadata: {}, items: hit[1] }));
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: `http://127.0.0.1:${(server.address() as { port: number }).port}`, skipTLSVerify: true }],
    users: [{ name: 'u', token: 'x' }],
    contexts: [{ name: 'ctx', cluster: 'c', user: 'u' }],
    currentContext: 'ctx',
  });
  return kc;
}

afterEach(() => {
  server?.close();
  server = undefined;
});

const gpuNode = { metadata: { name: 'gpu-1', labels: { 'nvidia.com/gpu.present': 'true' } }, spec: { taints: [{ key: 'nvidia.com/gpu', effect: 'NoSchedule' }] }, status: { allocatable: { cpu: '8', 'nvidia.com/gpu': '2' } } };
const cpuNode = { metadata: { name: 'cpu-1', labels: {} }, spec: {}, status: { allocatable: { cpu: '8' } } };
const plugin = { metadata: { name: 'nvidia-device-plugin-daemonset', namespace: 'gpu-operator' }, status: { numberReady: 1, desiredNumberScheduled: 1 } };
const available = (name: string) => ({ metadata: { name }, status: { conditions: [{ type: 'Available', status: 'True' }] } });

describe('infra:check', () => {
  it('passes a cluster with GPU nodes, a running device plugin and both metrics APIs', async () => {
    const checks = await checkCluster(await kubeConfigFor({ nodes: [gpuNode, cpuNode], daemonsets: [plugin], apiservices: [available('v1beta1.metrics.k8s.io'), available('v1beta1.custom.metrics.k8s.io')] }));
    expect(checks.filter((c) => !c.ok)).toEqual([]);
    expect(checks.find((c) => c.name.startsWith('GPU nodes with'))!.detail).toContain('1 node(s), 2 GPU(s): gpu-1');
  });

  it('fails a cluster without GPUs or custom metrics, and says what to install', async () => {
    const checks = await checkCluster(await kubeConfigFor({ nodes: [cpuNode], daemonsets: [], apiservices: [available('v1beta1.metrics.k8s.io')] }));
    const failed = Object.fromEntries(checks.filter((c) => !c.ok).map((c) => [c.name, c.detail]));
    expect(failed['GPU nodes with allocatable nvidia.com/gpu']).toContain('install the GPU Operator or the device plugin');
    expect(failed['NVIDIA device plugin running']).toContain('no nvidia-device-plugin DaemonSet');
    expect(failed['v1beta1.custom.metrics.k8s.io serving']).toContain('not registered');
    expect(failed['v1beta1.metrics.k8s.io serving']).toBeUndefined();
  });

  it("with --namespace, checks that each per-pod metric the release's HPAs ask for is served, and names what to set when not", async () => {
    const hpa = (name: string, metric: string) => ({ metadata: { name, namespace: 'audio' }, spec: { scaleTargetRef: { kind: 'Deployment', name }, maxReplicas: 3, metrics: [{ type: 'Pods', pods: { metric: { name: metric }, target: { type: 'AverageValue', averageValue: '16' } } }, { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }] } });
    const base = { nodes: [gpuNode], daemonsets: [plugin], apiservices: [available('v1beta1.metrics.k8s.io'), available('v1beta1.custom.metrics.k8s.io')] };
    const hpas = [hpa('rel-gpu', 'audiodecode_in_flight_requests'), hpa('rel-cpu', 'audiodecode_in_flight_requests'), hpa('rel-router', 'audiodecode_router_in_flight_requests')];
    // the APIService is Available but the pools' series never reached Prometheus (no ServiceMonitor)
    const unscraped = await checkCluster(await kubeConfigFor({ ...base, hpas, customMetrics: { audiodecode_router_in_flight_requests: { 'rel-router-1': '0' } } }), { namespace: 'audio' });
    const byName = Object.fromEntries(unscraped.map((c) => [c.name, c]));
    expect(byName['v1beta1.custom.metrics.k8s.io serving'].ok).toBe(true);
    expect(byName['audiodecode_in_flight_requests served for pods in audio'].ok).toBe(false);
    expect(byName['audiodecode_in_flight_requests served for pods in audio'].detail).toContain('HTTP 404');
    expect(byName['audiodecode_in_flight_requests served for pods in audio'].detail).toContain('metrics.serviceMonitor.enabled=true');
    expect(byName['audiodecode_router_in_flight_requests served for pods in audio']).toMatchObject({ ok: true, detail: '1 pod(s): rel-router-1=0' });
    // served, but for no pod: still a failure
    const empty = await checkCluster(await kubeConfigFor({ ...base, hpas, customMetrics: { audiodecode_in_flight_requests: {}, audiodecode_router_in_flight_requests: { r: '1' } } }), { namespace: 'audio' });
    expect(empty.find((c) => c.name.startsWith('audiodecode_in_flight_requests'))!.detail).toMatch(/^no pod reports it/);
    // every metric served: the check passes and shows the values the HPAs see
    const served = await checkCluster(await kubeConfigFor({ ...base, hpas, customMetrics: { audiodecode_in_flight_requests: { 'rel-gpu-1': '3', 'rel-cpu-1': '0' }, audiodecode_router_in_flight_requests: { 'rel-router-1': '2' } } }), { namespace: 'audio' });
    expect(served.filter((c) => !c.ok)).toEqual([]);
    expect(served.find((c) => c.name.startsWith('audiodecode_in_flight_requests'))!.detail).toBe('2 pod(s): rel-gpu-1=3, rel-cpu-1=0');
    // no HPA asks for one (autoscaling off): nothing to check
    const fixed = await checkCluster(await kubeConfigFor(base), { namespace: 'audio' });
    expect(fixed.find((c) => c.name === 'HorizontalPodAutoscalers in audio')).toMatchObject({ ok: true });
  });
});
