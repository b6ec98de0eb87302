// What the cluster test files share: the running cluster (from the global setup), API clients,
// helm, and the node agent's record of the processes it runs.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { inject } from 'vitest';
import { cacheDir, projectRoot } from '../../src/env.js';
import { readAgentState, type PodRecord } from '../../tools/cluster/kubelet.js';
import { until } from '../../tools/cluster/process.js';
import type { ClusterInfo } from './info.js';

export { until };

export { IMAGE_REPOSITORY, type ClusterInfo } from './info.js';

export function cluster(): ClusterInfo {
  return inject('cluster');
}

export function adminConfig(): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(cluster().kubeconfig);
  return kc;
}

/** A kubeconfig that authenticates with `token` (e.g. a ServiceAccount's). */
export function tokenConfig(token: string, namespace: string): k8s.KubeConfig {
  const { server, caFile } = cluster();
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server, caFile }],
    users: [{ name: 'u', token }],
    contexts: [{ name: 'ctx', cluster: 'c', user: 'u', namespace }],
    currentContext: 'ctx',
  });
  return kc;
}

export function agentPods(): PodRecord[] {
  return readAgentState(cluster().stateFile);
}

const helmBin = join(cacheDir(), 'bin', 'helm');

/** Real helm against the test cluster; throws with its output unless it exits 0. */
export function helm(args: string[], opts: { allowFail?: boolean } = {}): { status: number; stdout: string; stderr: string } {
  if (!existsSync(helmBin)) throw new Error(`${helmBin} is missing: run tools/install-helm.sh`);
  const run = spawnSync(helmBin, [...args, '--kubeconfig', cluster().kubeconfig], { encoding: 'utf8', cwd: projectRoot, env: { ...process.env, HELM_CACHE_HOME: join(cluster().dir, 'helm', 'cache'), HELM_CONFIG_HOME: join(cluster().dir, 'helm', 'config'), HELM_DATA_HOME: join(cluster().dir, 'helm', 'data') } });
  const result = { status: run.status ?? -1, stdout: run.stdout, stderr: run.stderr };
  if (result.status !== 0 && !opts.allowFail) throw new Error(`helm ${args.join(' ')} exited ${result.status}:\n${run.stdout}\n${run.stderr}`);
  return result;
}

/** helm without blocking the event loop, so that load can run while it waits. */
export function helmAsync(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  const proc = spawn(helmBin, [...args, '--kubeconfig', cluster().kubeconfig], { cwd: projectRoot, env: { ...process.env, HELM_CACHE_HOME: join(cluster().dir, 'helm', 'cache'), HELM_CONFIG_HOME: join(cluster().dir, 'helm', 'config'), HELM_DATA_HOME: join(cluster().dir, 'helm', 'data') } });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d) => (stdout += d));
  proc.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => proc.on('close', (code) => resolve({ status: code ?? -1, stdout, stderr })));
}

export function apiError(err: unknown): number | undefined {
  return (err as { code?: number }).code;
}

/** GET a raw API path (e.g. /metrics) with the kubeconfig's credentials and CA. */
export async function rawGet(kc: k8s.KubeConfig, path: string): Promise<{ status: number; body: string }> {
  const { request } = await import('node:https');
  const opts: import('node:https').RequestOptions = {};
  await kc.applyToHTTPSOptions(opts);
  const url = new URL(path, kc.getCurrentCluster()!.server);
  return new Promise((resolve, reject) => {
    const req = request(url, { ...opts, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Sum of a Prometheus counter's samples whose labels include every pair in `labels`. */
export function counter(metricsText: string, name: string, labels: Record<string, string>): number {
  let sum = 0;
  for (const line of metricsText.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const inside = line.slice(name.length + 1, line.lastIndexOf('}'));
    if (Object.entries(labels).every(([k, v]) => inside.includes(`${k}="${v}"`))) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}
