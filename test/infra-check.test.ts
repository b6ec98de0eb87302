import { createServer, type Server } from 'node:http';
import * as k8s from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { checkCluster } from '../infra/check.js';

// A stand-in for the Kubernetes API (no cluster runs here), named as such: a loopback server
// answering the three list calls infra:check makes, with recorded objects.
interface Cluster {
  nodes: object[];
  daemonsets: object[];
  apiservices: object[];
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
});
