// npm run infra:check: is this cluster ready for the chart? GPU nodes with allocatable
// nvidia.com/gpu, the NVIDIA device plugin running, and the metrics APIs the autoscalers use.
// Uses the current kubeconfig context (or the in-cluster service account).
import * as k8s from '@kubernetes/client-node';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export async function checkCluster(kc: k8s.KubeConfig): Promise<Check[]> {
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
  return checks;
}

if (process.argv[1]?.endsWith('check.ts') || process.argv[1]?.endsWith('check.js')) {
  const kc = new k8s.KubeConfig();
  kc.loadFromDefault();
  const checks = await checkCluster(kc).catch((err: unknown) => {
    process.stderr.write(`infra:check: cannot reach the cluster (${kc.getCurrentCluster()?.server ?? 'no kubeconfig'}): ${String(err)}\n`);
    process.exit(2);
  });
  for (const c of checks) process.stdout.write(`${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}\n`);
  process.exit(checks.every((c) => c.ok) ? 0 : 1);
}
