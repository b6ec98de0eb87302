import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { cacheDir, projectRoot } from '../../src/env.js';
import { CPU_NODES, GPU_NODES } from '../../tools/cluster/nodes.js';
import type { PodRecord } from '../../tools/cluster/kubelet.js';
import { adminConfig, agentPods, apiError, counter, helm, helmAsync, tokenConfig, until } from './cluster.js';
import { closeEngine, load, notOwnWords, summary, transcribe, type Answer } from './load.js';

// The chart installed for real: `helm install` into the real API server; the real scheduler
// places the pods on kwok's GPU and CPU nodes; for every pod kwok reports Running, the node
// agent starts the process its spec describes (GPU-pool pods as CPU stand-ins); the router runs
// with its ServiceAccount token and finds the pools through the EndpointSlices the real
// endpointslice controller publishes. Faults go through the API (pod delete, scale).
// The tests run in order: each one starts from the state the one before left.
const NS = 'audio';
const REL = 'rel';
const chart = join(projectRoot, 'charts', 'audiodecode');
const values = join(projectRoot, 'test', 'cluster', 'values.yaml');
const kc = adminConfig();
const core = kc.makeApiClient(k8s.CoreV1Api);
const apps = kc.makeApiClient(k8s.AppsV1Api);
const discoveryApi = kc.makeApiClient(k8s.DiscoveryV1Api);

type Component = 'pool-gpu' | 'pool-cpu' | 'router';
const deployment: Record<Component, string> = { 'pool-gpu': `${REL}-gpu`, 'pool-cpu': `${REL}-cpu`, router: `${REL}-router` };

async function pods(component: Component): Promise<k8s.V1Pod[]> {
  const list = await core.listNamespacedPod({ namespace: NS, labelSelector: `app.kubernetes.io/instance=${REL},app.kubernetes.io/component=${component}` });
  return list.items;
}

const isReady = (p: k8s.V1Pod): boolean => !p.metadata?.deletionTimestamp && (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

/** Ready pods of a component once there are exactly `n` pods and all are ready. */
async function readyPods(component: Component, n: number, timeoutMs = 120_000): Promise<k8s.V1Pod[]> {
  return until(`${n} ready ${component} pod(s)`, async () => {
    const list = await pods(component);
    return list.length === n && list.every(isReady) ? list : undefined;
  }, timeoutMs, 500);
}

/** Ready endpoint addresses in the EndpointSlices of a pool's Service (what the router reads). */
async function sliceAddresses(service: string): Promise<string[]> {
  const slices = await discoveryApi.listNamespacedEndpointSlice({ namespace: NS, labelSelector: `kubernetes.io/service-name=${service}` });
  return slices.items.flatMap((s) => (s.endpoints ?? []).filter((e) => e.conditions?.ready !== false && !e.conditions?.terminating).flatMap((e) => e.addresses)).sort();
}

async function scale(name: string, replicas: number): Promise<void> {
  await apps.patchNamespacedDeploymentScale({ name, namespace: NS, body: { spec: { replicas } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
}

async function routerUrl(): Promise<string> {
  const [router] = await readyPods('router', 1);
  return `http://${router.status!.podIP}:8080`;
}

async function routerMetric(url: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  return counter(await (await fetch(`${url}/metrics`)).text(), name, labels);
}

function record(pod: k8s.V1Pod): PodRecord {
  const r = agentPods().find((p) => p.uid === pod.metadata!.uid);
  if (!r) throw new Error(`the node agent has no record of ${pod.metadata!.name}`);
  return r;
}

function renderedDeployments(): Record<string, k8s.V1Deployment> {
  const manifest = helm(['get', 'manifest', REL, '-n', NS]).stdout;
  const docs = parseAllDocuments(manifest).map((d) => d.toJSON() as k8s.KubernetesObject & { spec?: unknown }).filter((d) => d?.kind === 'Deployment');
  return Object.fromEntries(docs.map((d) => [d.metadata!.name!, d as k8s.V1Deployment]));
}

function report(what: string, answers: Answer[]): void {
  const s = summary(answers);
  process.stdout.write(`${what}: sent ${s.sent}, answered ${s.answered}, ok ${s.ok}, retried ${s.retried}, failed ${s.failed}, by pool ${JSON.stringify(s.byPool)}\n`);
}

describe('helm install of charts/audiodecode into a real control plane with GPU and CPU node pools', () => {
  beforeAll(async () => {
    // the model cache as a PersistentVolume, pre-bound to the claim the release names
    // (model.source=pvc): the PV controller binds it, the scheduler checks it, the agent mounts it
    await core.createNamespace({ body: { metadata: { name: NS } } });
    // the ServiceMonitor kind, as the Prometheus Operator's CRD registers it (a stand-in: no
    // operator runs here, and the schema keeps every field); autoscaling values need the monitor
    const crds = kc.makeApiClient(k8s.ApiextensionsV1Api);
    await crds.createCustomResourceDefinition({
      body: {
        metadata: { name: 'servicemonitors.monitoring.coreos.com' },
        spec: {
          group: 'monitoring.coreos.com',
          scope: 'Namespaced',
          names: { kind: 'ServiceMonitor', plural: 'servicemonitors', singular: 'servicemonitor', listKind: 'ServiceMonitorList' },
          versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', x_kubernetes_preserve_unknown_fields: true } } }],
        },
      },
    });
    await until('the ServiceMonitor CRD established', async () => (await crds.readCustomResourceDefinition({ name: 'servicemonitors.monitoring.coreos.com' })).status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True'), 30_000);
    await core.createPersistentVolume({
      body: {
        metadata: { name: 'audiodecode-models' },
        spec: { capacity: { storage: '10Gi' }, accessModes: ['ReadOnlyMany'], storageClassName: '', hostPath: { path: cacheDir(), type: 'Directory' }, claimRef: { namespace: NS, name: 'audiodecode-models' } },
      },
    });
    await core.createNamespacedPersistentVolumeClaim({
      namespace: NS,
      body: { metadata: { name: 'audiodecode-models' }, spec: { accessModes: ['ReadOnlyMany'], storageClassName: '', volumeName: 'audiodecode-models', resources: { requests: { storage: '1Gi' } } } },
    });
    await until('the model claim Bound', async () => (await core.readNamespacedPersistentVolumeClaim({ name: 'audiodecode-models', namespace: NS })).status?.phase === 'Bound', 30_000);
  });

  afterAll(async () => {
    await closeEngine();
    helm(['uninstall', REL, '-n', NS, '--wait'], { allowFail: true });
    await core.deleteNamespace({ name: NS }).catch(() => undefined);
    await core.deletePersistentVolume({ name: 'audiodecode-models' }).catch(() => undefined);
    await kc.makeApiClient(k8s.ApiextensionsV1Api).deleteCustomResourceDefinition({ name: 'servicemonitors.monitoring.coreos.com' }).catch(() => undefined);
  });

  it('installs with --wait: pools, router, HPAs, PDBs, NetworkPolicy and RBAC exist as the chart renders them', async () => {
    const install = helm(['install', REL, chart, '-n', NS, '-f', values, '--wait=watcher', '--timeout', '4m']);
    expect(install.stdout).toContain('STATUS: deployed');
    const autoscaling = kc.makeApiClient(k8s.AutoscalingV2Api);
    const policy = kc.makeApiClient(k8s.PolicyV1Api);
    const networking = kc.makeApiClient(k8s.NetworkingV1Api);
    const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
    const names = (list: { items: k8s.KubernetesObject[] }): string[] => list.items.map((o) => o.metadata!.name!).sort();
    expect(names(await apps.listNamespacedDeployment({ namespace: NS }))).toEqual([`${REL}-cpu`, `${REL}-gpu`, `${REL}-router`]);
    expect(names(await core.listNamespacedService({ namespace: NS }))).toEqual([`${REL}-cpu`, `${REL}-gpu`, `${REL}-router`]);
    const hpas = await autoscaling.listNamespacedHorizontalPodAutoscaler({ namespace: NS });
    expect(names(hpas)).toEqual([`${REL}-cpu`, `${REL}-gpu`, `${REL}-router`]);
    expect(names(await policy.listNamespacedPodDisruptionBudget({ namespace: NS }))).toEqual([`${REL}-cpu`, `${REL}-gpu`, `${REL}-router`]);
    expect(names(await networking.listNamespacedNetworkPolicy({ namespace: NS }))).toEqual([`${REL}-pools`]);
    expect(names(await rbac.listNamespacedRole({ namespace: NS }))).toEqual([`${REL}-router`]);
    expect(names(await rbac.listNamespacedRoleBinding({ namespace: NS }))).toEqual([`${REL}-router`]);
    const monitors = (await kc.makeApiClient(k8s.CustomObjectsApi).listNamespacedCustomObject({ group: 'monitoring.coreos.com', version: 'v1', namespace: NS, plural: 'servicemonitors' })) as { items: { metadata: { name: string; labels: Record<string, string> } }[] };
    expect(monitors.items.map((m) => [m.metadata.name, m.metadata.labels.release])).toEqual([[REL, 'kube-prometheus-stack']]);
    expect((await core.readNamespacedServiceAccount({ name: `${REL}-router`, namespace: NS })).metadata?.name).toBe(`${REL}-router`);
    // the PDBs count the pods they select: the disruption controller computes their status
    await until('the PDBs observed by the disruption controller', async () => (await policy.listNamespacedPodDisruptionBudget({ namespace: NS })).items.every((p) => (p.status?.expectedPods ?? 0) >= 1), 30_000);
  });

  it('the real HPA controller raises the GPU pool to its minReplicas (2)', async () => {
    const gpu = await readyPods('pool-gpu', 2);
    expect(gpu).toHaveLength(2);
    const autoscaling = kc.makeApiClient(k8s.AutoscalingV2Api);
    const hpa = await autoscaling.readNamespacedHorizontalPodAutoscaler({ name: `${REL}-gpu`, namespace: NS });
    expect(hpa.spec?.minReplicas).toBe(2);
    expect(hpa.status?.desiredReplicas).toBe(2);
    await readyPods('pool-cpu', 1);
    await readyPods('router', 1);
  });

  it('the scheduler puts GPU-pool pods on GPU nodes only, one per node, and keeps CPU-pool and router pods off GPU nodes and GPUs', async () => {
    const gpu = await pods('pool-gpu');
    expect(gpu.map((p) => p.spec!.nodeName).sort()).toEqual([...GPU_NODES].sort()); // topology spread + one GPU each
    for (const p of gpu) expect(p.spec!.containers[0].resources?.limits?.['nvidia.com/gpu']).toBe('1');
    for (const p of [...(await pods('pool-cpu')), ...(await pods('router'))]) {
      expect(CPU_NODES, p.metadata!.name).toContain(p.spec!.nodeName);
      const resources = p.spec!.containers[0].resources;
      expect(resources?.limits?.['nvidia.com/gpu'], p.metadata!.name).toBeUndefined();
      expect(resources?.requests?.['nvidia.com/gpu'], p.metadata!.name).toBeUndefined();
    }
  });

  it('each Running pod is a real process started from its rendered Deployment: command, args, env, port and probes', async () => {
    const rendered = renderedDeployments();
    for (const component of ['pool-gpu', 'pool-cpu', 'router'] as const) {
      const spec = rendered[deployment[component]].spec!.template.spec!.containers[0];
      for (const pod of await pods(component)) {
        const r = record(pod);
        expect(r.process, pod.metadata!.name).toBe(true);
        expect(r.args).toEqual(['dist/functions/shared/serve.js', ...spec.args!]); // the image's ENTRYPOINT (less tini) + the chart's args
        for (const e of spec.env ?? []) {
          const want = e.value ?? (e.valueFrom?.fieldRef?.fieldPath === 'metadata.name' ? pod.metadata!.name : pod.metadata!.namespace);
          const substituted = component === 'pool-gpu' && ['AUDIODECODE_DEVICE', 'AUDIODECODE_COMPUTE_TYPE'].includes(e.name);
          if (substituted) continue;
          if (e.name === 'AUDIODECODE_CACHE') expect(r.env![e.name]).toBe(cacheDir()); // /models = the claim's hostPath
          else expect(r.env![e.name], `${pod.metadata!.name} ${e.name}`).toBe(want);
        }
        expect(r.env!.HOST).toBe(pod.status!.podIP);
        expect(r.env!.PORT).toBe(String(spec.ports![0].containerPort));
        // the process answers on the pod's IP at the probe paths of its spec
        for (const probe of [spec.readinessProbe!, spec.livenessProbe!]) {
          const res = await fetch(`http://${pod.status!.podIP}:${spec.ports![0].containerPort}${probe.httpGet!.path}`);
          expect(res.status, `${pod.metadata!.name} ${probe.httpGet!.path}`).toBe(200);
        }
      }
    }
    for (const pod of await pods('pool-gpu')) {
      const r = record(pod);
      expect(r.gpuStandIn).toBe(true);
      expect(r.substitutions!.join('\n')).toContain('CPU stand-in');
      expect([r.env!.AUDIODECODE_DEVICE, r.env!.AUDIODECODE_COMPUTE_TYPE]).toEqual(['cpu', 'int8']);
      expect(r.env!.AUDIODECODE_MODEL).toBe('tiny.en');
    }
    // the router has its ServiceAccount's token (TokenRequest bound to the pod), nothing more
    const [router] = await pods('router');
    expect(record(router).env!.KUBECONFIG).toBeDefined();
  });

  it("RBAC, by the real authorizer: the router's ServiceAccount may list and watch EndpointSlices in its namespace, and nothing else", async () => {
    const token = (await core.createNamespacedServiceAccountToken({ name: `${REL}-router`, namespace: NS, body: { spec: { audiences: [], expirationSeconds: 600 } } })).status!.token;
    const sa = tokenConfig(token, NS);
    const disc = sa.makeApiClient(k8s.DiscoveryV1Api);
    const slices = await disc.listNamespacedEndpointSlice({ namespace: NS });
    expect(slices.items.length).toBeGreaterThanOrEqual(2);
    // a watch from the list's resourceVersion is accepted and delivers a change made meanwhile
    const events: string[] = [];
    const ctl = await new k8s.Watch(sa).watch(`/apis/discovery.k8s.io/v1/namespaces/${NS}/endpointslices`, { resourceVersion: slices.metadata!.resourceVersion }, (type, obj: k8s.V1EndpointSlice) => events.push(`${type} ${obj.metadata?.name}`), () => undefined);
    const touched = slices.items[0].metadata!.name!;
    await discoveryApi.patchNamespacedEndpointSlice({ name: touched, namespace: NS, body: { metadata: { annotations: { 'audiodecode.test/touched': 'rbac' } } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
    await until('the watch event', () => events.includes(`MODIFIED ${touched}`), 10_000, 50);
    ctl.abort();
    const refusedWatch = await new Promise<number | undefined>((resolve) => {
      void new k8s.Watch(sa).watch('/apis/discovery.k8s.io/v1/namespaces/default/endpointslices', {}, () => undefined, (err: unknown) => resolve((err as { statusCode?: number } | null)?.statusCode));
    });
    expect(refusedWatch, 'watch EndpointSlices in another namespace').toBe(403);
    const saCore = sa.makeApiClient(k8s.CoreV1Api);
    const refused = async (what: string, call: () => Promise<unknown>): Promise<void> => {
      const code = await call().then(() => 200, apiError);
      expect(code, what).toBe(403);
    };
    await refused('list Secrets in its namespace', () => saCore.listNamespacedSecret({ namespace: NS }));
    await refused('read a Secret', () => saCore.readNamespacedSecret({ name: `sh.helm.release.v1.${REL}.v1`, namespace: NS }));
    await refused('list Pods in its namespace', () => saCore.listNamespacedPod({ namespace: NS }));
    await refused('list Pods in kube-system', () => saCore.listNamespacedPod({ namespace: 'kube-system' }));
    await refused('list EndpointSlices in another namespace', () => disc.listNamespacedEndpointSlice({ namespace: 'default' }));
    await refused('list EndpointSlices cluster-wide', () => disc.listEndpointSliceForAllNamespaces());
    await refused('create an EndpointSlice', () => disc.createNamespacedEndpointSlice({ namespace: NS, body: { metadata: { name: 'x' }, addressType: 'IPv4', endpoints: [] } }));
    await refused('get an EndpointSlice', () => disc.readNamespacedEndpointSlice({ name: slices.items[0].metadata!.name!, namespace: NS }));
    await refused('scale a Deployment', () => sa.makeApiClient(k8s.AppsV1Api).patchNamespacedDeploymentScale({ name: `${REL}-gpu`, namespace: NS, body: { spec: { replicas: 0 } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch)));
  });

  it('the router, discovering the pools from real EndpointSlices, serves through them: GPU first, CPU on request', async () => {
    const url = await routerUrl();
    const gpuIps = (await pods('pool-gpu')).map((p) => p.status!.podIP!).sort();
    expect(await sliceAddresses(`${REL}-gpu`)).toEqual(gpuIps);
    const gpuNames = (await pods('pool-gpu')).map((p) => p.metadata!.name);
    const [cpuPod] = await pods('pool-cpu');
    for (let i = 0; i < 3; i++) {
      const a = await transcribe(url, i);
      expect(a.status, a.text).toBe(200);
      expect(a.pool).toBe('gpu');
      expect(gpuNames).toContain(a.instance);
    }
    const c = await transcribe(url, 3, { 'X-AudioDecode-Pool': 'cpu' });
    expect([c.status, c.pool, c.instance]).toEqual([200, 'cpu', cpuPod.metadata!.name]);
    expect(await notOwnWords([...(await Promise.all([0, 1, 2].map((i) => transcribe(url, i)))), c])).toEqual([]);
  });

  it("with every GPU in use, a third GPU pod stays Pending with the scheduler's reason while both pools keep serving", async () => {
    await scale(`${REL}-gpu`, 3);
    const pending = await until('a Pending GPU pod marked unschedulable', async () => {
      const p = (await pods('pool-gpu')).find((x) => !x.spec!.nodeName);
      const cond = p?.status?.conditions?.find((c) => c.type === 'PodScheduled');
      return cond?.status === 'False' && cond.reason === 'Unschedulable' ? { pod: p!, message: cond.message! } : undefined;
    }, 60_000);
    process.stdout.write(`scheduler: ${pending.pod.metadata!.name}: ${pending.message}\n`);
    expect(pending.message).toMatch(/Insufficient nvidia\.com\/gpu/);
    expect(pending.message).toMatch(/0\/4 nodes are available/);
    const url = await routerUrl();
    const answers = await Promise.all([transcribe(url, 4), transcribe(url, 5, { 'X-AudioDecode-Pool': 'cpu' })]);
    expect(answers.map((a) => [a.status, a.pool])).toEqual([[200, 'gpu'], [200, 'cpu']]);
    expect((await pods('pool-gpu')).filter(isReady)).toHaveLength(2);
    await scale(`${REL}-gpu`, 2);
    await readyPods('pool-gpu', 2); // the ReplicaSet removes the unscheduled pod first
    expect((await pods('pool-gpu')).every((p) => GPU_NODES.includes(p.spec!.nodeName!))).toBe(true);
  });

  it('a GPU pod deleted under load: no request lost, each answered with its own words; the router stops using it once its EndpointSlice changes', async () => {
    const url = await routerUrl();
    const [victim, survivor] = await pods('pool-gpu');
    const victimIp = victim.status!.podIP!;
    const retriesBefore = await routerMetric(url, 'audiodecode_router_retries_total');
    let sliceChangedAt = 0;
    const answers = await load(url, {
      first: 20,
      total: 24,
      clients: 4,
      after: 3,
      during: async () => {
        await core.deleteNamespacedPod({ name: victim.metadata!.name!, namespace: NS });
        await until('the victim out of the GPU EndpointSlice', async () => !(await sliceAddresses(`${REL}-gpu`)).includes(victimIp), 30_000, 50);
        sliceChangedAt = Date.now();
      },
    });
    const retried = (await routerMetric(url, 'audiodecode_router_retries_total')) - retriesBefore;
    report(`kill test (router retries metric +${retried})`, answers);
    expect(summary(answers)).toMatchObject({ sent: 24, answered: 24, ok: 24, failed: 0 });
    expect(await notOwnWords(answers)).toEqual([]);
    // requests sent once the router's watch had the change (1 s margin) never reach the victim
    const late = answers.filter((a) => a.sentAt > sliceChangedAt + 1000);
    expect(late.length).toBeGreaterThan(0);
    expect(late.filter((a) => a.instance === victim.metadata!.name)).toEqual([]);
    expect(late.some((a) => a.instance === survivor.metadata!.name)).toBe(true);
    // the kubelet part: SIGTERM, the drain answered what it had admitted, exit 0 within the grace period
    const gone = await until('the victim process drained and gone', () => {
      const r = agentPods().find((p) => p.uid === victim.metadata!.uid);
      return r?.deleted ? r : undefined;
    }, 60_000);
    expect(gone.exits.at(-1)).toMatchObject({ code: 0 });
    expect(gone.drainSeconds).toBeLessThan(victim.spec!.terminationGracePeriodSeconds!);
    // the ReplicaSet replaces it on the freed GPU node, and the router takes it back
    const back = await readyPods('pool-gpu', 2);
    expect(back.map((p) => p.spec!.nodeName).sort()).toEqual([...GPU_NODES].sort());
    await until('the replacement in the GPU EndpointSlice', async () => (await sliceAddresses(`${REL}-gpu`)).length === 2, 30_000);
  });

  it('GPU pool scaled to 0 under load: everything goes to the CPU pool; scaled back: GPU first again', async () => {
    const url = await routerUrl();
    let emptyAt = 0;
    const down = await load(url, {
      first: 50,
      total: 16,
      clients: 3,
      after: 2,
      during: async () => {
        await scale(`${REL}-gpu`, 0);
        await until('no GPU endpoint left', async () => (await sliceAddresses(`${REL}-gpu`)).length === 0, 60_000, 50);
        emptyAt = Date.now();
      },
    });
    report('scale to 0', down);
    expect(summary(down)).toMatchObject({ sent: 16, answered: 16, ok: 16, failed: 0 });
    expect(await notOwnWords(down)).toEqual([]);
    const afterEmpty = down.filter((a) => a.sentAt > emptyAt + 1000);
    expect(afterEmpty.length).toBeGreaterThan(0);
    expect(afterEmpty.every((a) => a.pool === 'cpu')).toBe(true);
    expect(down.some((a) => a.pool === 'gpu')).toBe(true); // GPU first while it was there
    expect((await fetch(`${url}/readyz`)).status).toBe(200);

    await scale(`${REL}-gpu`, 2);
    await readyPods('pool-gpu', 2);
    await until('both GPU endpoints back in the EndpointSlice', async () => (await sliceAddresses(`${REL}-gpu`)).length === 2, 60_000);
    await new Promise((r) => setTimeout(r, 1000)); // the router's watch
    const up: Answer[] = [];
    for (let i = 0; i < 4; i++) up.push(await transcribe(url, 70 + i));
    report('scaled back to 2', up);
    expect(summary(up)).toMatchObject({ ok: 4, failed: 0 });
    expect(up.every((a) => a.pool === 'gpu')).toBe(true);
  });

  it('helm upgrade with changed values, under load: the router rolls, GPU pods are replaced with every GPU in use, the CPU pool grows and spreads over both CPU nodes; helm rollback restores revision 1', async () => {
    const [oldRouter] = await pods('router');
    const oldGpu = (await pods('pool-gpu')).map((p) => p.metadata!.uid);
    // Every GPU is allocated: the GPU pool's rollout replaces its pods in place, one at a time
    // (maxSurge 0, maxUnavailable 1); a surge pod could never schedule and --wait would time out.
    let upgrading = true;
    const during: Answer[] = [];
    const traffic = (async () => {
      for (let i = 0; upgrading; i++) during.push(await transcribe(`http://${(await pods('router')).find(isReady)?.status?.podIP}:8080`, 90 + i).catch((err: unknown) => ({ i: 90 + i, status: 0, pool: null, instance: null, attempts: 0, text: String(err), sentAt: Date.now(), doneAt: Date.now() })));
    })();
    const up = await helmAsync(['upgrade', REL, chart, '-n', NS, '-f', values, '--set', 'router.gpuBusyInFlight=8', '--set', 'pools.cpu.autoscaling.minReplicas=2', '--set', 'pools.gpu.maxQueue=48', '--wait=watcher', '--timeout', '4m']);
    upgrading = false;
    await traffic;
    expect(up.status, up.stdout + up.stderr).toBe(0);
    expect(up.stdout).toContain('REVISION: 2');
    report('during the upgrade', during);
    expect(summary(during)).toMatchObject({ failed: 0 });
    expect(during.length).toBeGreaterThan(0);
    const newGpu = await readyPods('pool-gpu', 2);
    expect(newGpu.filter((p) => oldGpu.includes(p.metadata!.uid))).toEqual([]);
    expect(newGpu.map((p) => p.spec!.nodeName).sort()).toEqual([...GPU_NODES].sort());
    for (const p of newGpu) expect(record(p).env!.AUDIODECODE_MAX_QUEUE).toBe('48');
    const [newRouter] = await readyPods('router', 1);
    expect(newRouter.metadata!.uid).not.toBe(oldRouter.metadata!.uid);
    expect(record(newRouter).env!.ROUTER_GPU_BUSY_IN_FLIGHT).toBe('8');
    // the HPA raises the CPU pool to its new minimum; topology spread puts the two apart
    const cpu = await readyPods('pool-cpu', 2);
    expect(cpu.map((p) => p.spec!.nodeName).sort()).toEqual([...CPU_NODES].sort());
    const url = await routerUrl();
    expect((await transcribe(url, 80)).status).toBe(200);

    const back = helm(['rollback', REL, '1', '-n', NS, '--wait=watcher', '--timeout', '4m']);
    expect(back.stdout).toContain('Rollback was a success');
    const history = JSON.parse(helm(['history', REL, '-n', NS, '-o', 'json']).stdout) as { revision: number; status: string; description: string }[];
    expect(history.map((h) => [h.revision, h.status])).toEqual([[1, 'superseded'], [2, 'superseded'], [3, 'deployed']]);
    expect(history[2].description).toBe('Rollback to 1');
    const [rolledRouter] = await readyPods('router', 1);
    expect(record(rolledRouter).env!.ROUTER_GPU_BUSY_IN_FLIGHT).toBe('24');
    for (const p of await readyPods('pool-gpu', 2)) expect(record(p).env!.AUDIODECODE_MAX_QUEUE).toBe('64');
    const autoscaling = kc.makeApiClient(k8s.AutoscalingV2Api);
    expect((await autoscaling.readNamespacedHorizontalPodAutoscaler({ name: `${REL}-cpu`, namespace: NS })).spec?.minReplicas).toBe(1);
    expect((await transcribe(await routerUrl(), 81)).status).toBe(200);
    // two rollouts of every Deployment; a new pod can wait 30-40 s for kwok on a loaded machine
  }, 480_000);

  it("the previous GPU strategy (surge first) cannot roll a fully allocated GPU pool: the surge pod stays Pending, the old pods keep serving", async () => {
    const before = (await readyPods('pool-gpu', 2)).map((p) => p.metadata!.uid);
    // no --wait: it would only time out
    helm(['upgrade', REL, chart, '-n', NS, '-f', values, '--set', 'pools.gpu.strategy.maxSurge=1', '--set', 'pools.gpu.strategy.maxUnavailable=0', '--set', 'pools.gpu.maxQueue=40']);
    const surge = await until('the surge GPU pod unschedulable', async () => {
      const p = (await pods('pool-gpu')).find((x) => !before.includes(x.metadata!.uid));
      const cond = p?.status?.conditions?.find((c) => c.type === 'PodScheduled');
      return cond?.status === 'False' ? cond.message : undefined;
    }, 60_000);
    expect(surge).toMatch(/Insufficient nvidia\.com\/gpu/);
    await new Promise((r) => setTimeout(r, 5000));
    const gpu = await pods('pool-gpu');
    expect(gpu.filter(isReady).map((p) => p.metadata!.uid).sort()).toEqual([...before].sort()); // nothing replaced
    expect((await transcribe(await routerUrl(), 85)).status).toBe(200);
  });

  it('helm uninstall leaves nothing behind: no object of the release, no pod, no process', async () => {
    helm(['uninstall', REL, '-n', NS, '--wait', '--timeout', '4m']);
    await until('every pod of the release gone', async () => (await core.listNamespacedPod({ namespace: NS })).items.length === 0, 120_000, 500);
    const sel = { namespace: NS, labelSelector: `app.kubernetes.io/instance=${REL}` };
    const autoscaling = kc.makeApiClient(k8s.AutoscalingV2Api);
    const lists: Record<string, () => Promise<{ items: unknown[] }>> = {
      Deployments: () => apps.listNamespacedDeployment(sel),
      ReplicaSets: () => apps.listNamespacedReplicaSet({ namespace: NS }),
      Services: () => core.listNamespacedService({ namespace: NS }),
      EndpointSlices: () => discoveryApi.listNamespacedEndpointSlice({ namespace: NS }),
      HPAs: () => autoscaling.listNamespacedHorizontalPodAutoscaler({ namespace: NS }),
      PDBs: () => kc.makeApiClient(k8s.PolicyV1Api).listNamespacedPodDisruptionBudget({ namespace: NS }),
      NetworkPolicies: () => kc.makeApiClient(k8s.NetworkingV1Api).listNamespacedNetworkPolicy({ namespace: NS }),
      Roles: () => kc.makeApiClient(k8s.RbacAuthorizationV1Api).listNamespacedRole({ namespace: NS }),
      RoleBindings: () => kc.makeApiClient(k8s.RbacAuthorizationV1Api).listNamespacedRoleBinding({ namespace: NS }),
      ServiceAccounts: () => core.listNamespacedServiceAccount({ namespace: NS, labelSelector: `app.kubernetes.io/instance=${REL}` }),
      'helm release Secrets': () => core.listNamespacedSecret({ namespace: NS, labelSelector: `owner=helm,name=${REL}` }),
    };
    await until('the garbage collector to remove the ReplicaSets and the controller their EndpointSlices', async () => {
      for (const list of [lists.ReplicaSets, lists.EndpointSlices]) if ((await list()).items.length) return false;
      return true;
    }, 60_000, 500);
    for (const [kind, list] of Object.entries(lists)) expect((await list()).items, kind).toEqual([]);
    expect(helm(['list', '-n', NS, '-q', '--deployed', '--failed', '--pending', '--superseded', '--uninstalling']).stdout.trim()).toBe('');
    const status = helm(['status', REL, '-n', NS], { allowFail: true });
    expect([status.status, status.stderr.trim()]).toEqual([1, 'Error: release: not found']);
    // every process the node agent ran for the release (replaced and rolled pods too) has exited
    const records = agentPods().filter((p) => p.namespace === NS);
    expect(records.filter((r) => r.process).length).toBeGreaterThanOrEqual(8);
    expect(records.filter((r) => !r.deleted).map((r) => r.name)).toEqual([]);
  });
});
