import { spawnSync } from 'node:child_process';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/env.js';
import { GPU_NODES } from '../../tools/cluster/nodes.js';
import { adminConfig, cluster, until } from './cluster.js';

// `npm run infra:check` against the real API server: kwok's GPU nodes (labelled and tainted as
// the GPU Operator does), a device-plugin DaemonSet that the real DaemonSet controller places on
// them (its pods run nothing here: a stand-in for NVIDIA's image, named as such), and a metrics
// APIService registered without a server behind it, which the real availability controller
// marks unavailable. The custom-metrics API is absent: infra:check must say so and fail.
const kc = adminConfig();
const apps = kc.makeApiClient(k8s.AppsV1Api);
const core = kc.makeApiClient(k8s.CoreV1Api);
const registration = kc.makeApiClient(k8s.ApiregistrationV1Api);

function infraCheck(): { status: number | null; lines: Record<string, string> } {
  const run = spawnSync('npx', ['tsx', 'infra/check.ts'], { cwd: projectRoot, encoding: 'utf8', env: { ...process.env, KUBECONFIG: cluster().kubeconfig } });
  const lines: Record<string, string> = {};
  for (const line of run.stdout.trim().split('\n')) {
    const m = /^(ok {2}|FAIL) (.+?): (.*)$/.exec(line);
    if (m) lines[m[2]] = `${m[1].trim()} ${m[3]}`;
  }
  return { status: run.status, lines };
}

describe('infra:check against the real API server', () => {
  beforeAll(async () => {
    await core.createNamespace({ body: { metadata: { name: 'gpu-operator' } } });
    // pods are admitted once the ServiceAccount controller has made the namespace's default account
    await until('the default ServiceAccount in gpu-operator', () => core.readNamespacedServiceAccount({ name: 'default', namespace: 'gpu-operator' }).then(() => true), 30_000);
    await apps.createNamespacedDaemonSet({
      namespace: 'gpu-operator',
      body: {
        metadata: { name: 'nvidia-device-plugin-daemonset' },
        spec: {
          selector: { matchLabels: { app: 'nvidia-device-plugin' } },
          template: {
            metadata: { labels: { app: 'nvidia-device-plugin' } },
            spec: {
              nodeSelector: { 'nvidia.com/gpu.present': 'true' },
              tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
              containers: [{ name: 'plugin', image: 'stand-in.invalid/nvidia-device-plugin:v0.17.0' }],
            },
          },
        },
      },
    });
  });

  afterAll(async () => {
    await registration.deleteAPIService({ name: 'v1beta1.metrics.k8s.io' }).catch(() => undefined);
    await core.deleteNamespace({ name: 'gpu-operator' }).catch(() => undefined);
  });

  it('passes the GPU node and device-plugin checks once the DaemonSet is ready on both GPU nodes', async () => {
    await until('the device-plugin DaemonSet ready on the GPU nodes', async () => {
      const ds = await apps.readNamespacedDaemonSet({ name: 'nvidia-device-plugin-daemonset', namespace: 'gpu-operator' });
      return ds.status?.desiredNumberScheduled === GPU_NODES.length && ds.status?.numberReady === GPU_NODES.length;
      // 35-45 s here; likely kwok's informers, which ask for watch-list streams that the API
      // server refuses over etcd 3.4 (no progress notifications) and retry with backoff
    }, 120_000);
    const { lines } = infraCheck();
    expect(lines['GPU nodes with allocatable nvidia.com/gpu']).toBe(`ok 2 node(s), 2 GPU(s): ${GPU_NODES.join(', ')}`);
    expect(lines['GPU nodes labelled nvidia.com/gpu.present=true']).toMatch(/^ok 2\/2 labelled/);
    expect(lines['GPU nodes tainted nvidia.com/gpu:NoSchedule']).toMatch(/^ok 2\/2 tainted/);
    expect(lines['NVIDIA device plugin running']).toBe('ok gpu-operator/nvidia-device-plugin-daemonset 2/2 ready');
  });

  it('fails, naming what is missing: the metrics API is registered but not available, custom metrics absent', async () => {
    // registered only for this check: an unavailable API group stalls discovery, and with it the
    // namespace and garbage collectors, for every other test
    await registration.createAPIService({
      body: { metadata: { name: 'v1beta1.metrics.k8s.io' }, spec: { group: 'metrics.k8s.io', version: 'v1beta1', groupPriorityMinimum: 100, versionPriority: 100, insecureSkipTLSVerify: true, service: { name: 'metrics-server', namespace: 'kube-system', port: 443 } } },
    });
    await until('the availability controller to judge v1beta1.metrics.k8s.io', async () => {
      const svc = await registration.readAPIService({ name: 'v1beta1.metrics.k8s.io' });
      return svc.status?.conditions?.some((c) => c.type === 'Available' && c.status === 'False');
    }, 60_000);
    const { status, lines } = infraCheck();
    expect(status).toBe(1);
    expect(lines['v1beta1.metrics.k8s.io serving']).toBe('FAIL resource metrics (CPU fallback of the HPAs): registered but not Available');
    expect(lines['v1beta1.custom.metrics.k8s.io serving']).toBe('FAIL custom metrics (prometheus-adapter, in-flight requests): not registered');
    await registration.deleteAPIService({ name: 'v1beta1.metrics.k8s.io' });
  });
});
