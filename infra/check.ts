// npm run infra:check [-- --namespace NS]: is this cluster ready for the chart? GPU nodes with
// allocatable nvidia.com/gpu, the NVIDIA device plugin running, the metrics APIs the autoscalers
// use and, for a release's namespace, the in-flight metrics themselves served per pod.
// Uses the current kubeconfig context (or the in-cluster service account).
import http from 'node:http';
import https from 'node:https';
import { parseArgs } from 'node:util';
import * as k8s from '@kubernetes/client-node';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

/** GET a path of the API server as JSON, with the kubeconfig's credentials (the generated clients have no custom-metrics API). */
async function getJson(kc: k8s.KubeConfig, path: string): Promise<{ status: number; body: unknown }> {
  const server = new URL(kc.getCurrentCluster()!.server);
  const options: https.RequestOptions = { method: 'GET', headers: { Accept: 'application/json' } };
  await kc.applyToHTTPSOptions(options);
  const request = server.protocol === 'http:' ? http.request : https.request;
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, server), options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // not JSON: kept as text for the message
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** Is each per-pod metric the HPAs of `namespace` ask for served? Read as the HPA controller reads it. */
async function checkServedMetrics(kc: k8s.KubeConfig, namespace: string): Promise<Check[]> {
  const hpas = (await kc.makeApiClient(k8s.AutoscalingV2Api).listNamespacedHorizontalPodAutoscaler({ namespace })).items;
  const asked = [...new Set(hpas.flatMap((h) => (h.spec?.metrics ?? []).flatMap((m) => (m.type === 'Pods' && m.pods ? [m.pods.metric.name] : []))))].sort();
  if (asked.length === 0) return [{ name: `HorizontalPodAutoscalers in ${namespace}`, ok: true, detail: 'none asks for a per-pod metric (autoscaling off, or KEDA, which queries Prometheus itself)' }];
  const checks: Check[] = [];
  for (const metric of asked) {
    const name = `${metric} served for pods in ${namespace}`;
    const { status, body } = await getJson(kc, `/apis/custom.metrics.k8s.io/v1beta1/namespaces/${encodeURIComponent(namespace)}/pods/*/${metric}`).catch((err: unknown) => ({ status: 0, body: String(err) }));
    const items = status === 200 ? ((body as { items?: { describedObject?: { name?: string }; value?: string }[] }).items ?? []) : [];
    const why = status === 200 ? 'no pod reports it' : `HTTP ${status}`;
    checks.push({
      name,
      ok: items.length > 0,
      detail: items.length
        ? `${items.length} pod(s): ${items.map((i) => `${i.describedObject?.name}=${i.value}`).join(', ')}`
        : `${why}: the HPAs get FailedGetPodsMetric and never scale down. Set metrics.serviceMonitor.enabled=true with metrics.serviceMonitor.labels matching your Prometheus' serviceMonitorSelector, admit its namespace (metrics.serviceMonitor.scrapeNamespace), and run prometheus-adapter with infra/prometheus-adapter-values.yaml`,
    });
  }
  return checks;
}

export async function checkCluster(kc: k8s.KubeConfig, options: { namespace?: string } = {}): Promise<Check[]> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const registration = kc.makeApiClient(k8s.ApiregistrationV1Api);
  const checks: Check[] = [];

  const nodes = (await core.listNode()).items;
  const gpuNodes = nodes.filter((n) => Number(n.status?.allocatable?.['nvidia.com/gpu'] ?? 0) > 0);
  const gpus = gpuNodes.reduce((sum, n) => sum + Number(n.status!.allocatable!['nvidia.com/gpu']), 0);
  checks.push({ name: 'GPU nodes with allocatable nvidia.com/gpu', ok: gpuNodes.length > 0, detail: gpuNodes.length ? `${gpuNodes.length} node(s), ${gpus} GPU(s): ${gpuNodes.map((n) => n.metadata?.name).join(', ')}` : `none of ${nodes.length} node(s) advertises nvidia.com/gpu: install the GPU Operator or the device plugin (infra/)` });
  const labelled = gpuNodes.filter((n) => n.metadata?.labels?.['nvidia.com/gpu.present'] === 'true');
  checks.push({ name: 'GPU nodes labelled nvidia.com/gpu.present=true', ok: gpuNodes.length > 0 && labelled.length === gpuNodes.length, detail: `${labelled.length}/${gpuNodes.length} labelled (the chart's GPU pool selects this label)` });
  const tainted = gpuNodes.filter((n) => (n.spec?.taints ?? []).some((t) => t.key === 'nvidia.com/gpu' && t.effect === 'NoSchedule'));
  checks.push({ name: 'GPU nodes tainted nvidia.com/gpu:NoSchedule', ok: true, detail: `${tainted.length}/${gpuNodes.length} tainted (advice: taint them so CPU pods stay off)` });

  const daemonsets = (await apps.listDaemonSetForAllNamespaces()).items.filter((d) => /nvidia-device-plugin/.test(d.metadata?.name ?? ''));
  const running = daemonsets.filter((d) => (d.status?.numberReady ?? 0) > 0 && d.status?.numberReady === d.status?.desiredNumberScheduled);
  checks.push({ name: 'NVIDIA device plugin running', ok: running.length > 0, detail: daemonsets.length ? daemonsets.map((d) => `${d.metadata?.namespace}/${d.metadata?.name} ${d.status?.numberReady}/${d.status?.desiredNumberScheduled} ready`).join('; ') : 'no nvidia-device-plugin DaemonSet found' });

  const services = (await registration.listAPIService()).items;
  for (const [group, what] of [['v1beta1.metrics.k8s.io', 'resource metrics (CPU fallback of the HPAs)'], ['v1beta1.custom.metrics.k8s.io', 'custom metrics (prometheus-adapter, in-flight requests)']] as const) {
    const svc = services.find((s) => s.metadata?.name === group);
    const available = svc?.status?.conditions?.some((c) => c.type === 'Available' && c.status === 'True') ?? false;
    checks.push({ name: `${group} serving`, ok: available, detail: svc ? `${what}: ${available ? 'Available' : 'registered but not Available'}` : `${what}: not registered` });
  }
  if (options.namespace) checks.push(...(await checkServedMetrics(kc, options.namespace)));
  return checks;
}

if (process.argv[1]?.endsWith('check.ts') || process.argv[1]?.endsWith('check.js')) {
  // --namespace: the release's namespace, whose pods' autoscaling metrics are checked too
  const { values } = parseArgs({ options: { namespace: { type: 'string', short: 'n' } } });
  const kc = new k8s.KubeConfig();
  kc.loadFromDefault();
  const checks = await checkCluster(kc, { namespace: values.namespace }).catch((err: unknown) => {
    process.stderr.write(`infra:check: cannot reach the cluster (${kc.getCurrentCluster()?.server ?? 'no kubeconfig'}): ${String(err)}\n`);
    process.exit(2);
  });
  for (const c of checks) process.stdout.write(`${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}\n`);
  process.exit(checks.every((c) => c.ok) ? 0 : 1);
}
