// The node agent: what a kubelet does for the pods kwok reports Running, done for real where it
// matters to the chart. kwok gives a scheduled pod its phase and IP; this agent then
//   - starts the process its spec describes (tools/cluster/pod-process.ts), on the pod's IP;
//   - runs its startup, readiness and liveness probes (httpGet on the spec's paths and ports) and
//     reports Ready / ContainersReady, so the endpointslice controller publishes what the
//     process really answers, and restarts it when liveness fails or it exits;
//   - on deletion runs the preStop hook, sends SIGTERM, waits the grace period (then SIGKILL),
//     and only then removes the pod (a delete with grace 0), as the kubelet does.
// Pods of images that are not ours (the device-plugin stand-in of infra:check) have no process
// here: they are reported ready at once, named as such in the state file.
// The agent writes what it runs to `stateFile` (JSON), which the tests read.
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { kubeConfigFile } from './control-plane.js';
import type { ImageConfig } from './image.js';
import { planProcess, type ProcessPlan } from './pod-process.js';
import { launch, type Managed } from './process.js';

export interface AgentOptions {
  kc: k8s.KubeConfig;
  server: string;
  dir: string;
  nodes: Set<string>;
  /** The image config of one of our images, or undefined for anyone else's. */
  imageFor: (image: string) => ImageConfig | undefined;
  workdir: string;
  gpuResource: string;
  log?: (m: string) => void;
}

/** One pod as the state file records it. */
export interface PodRecord {
  namespace: string;
  name: string;
  uid: string;
  node: string;
  ip: string;
  /** false: not our image, nothing to run. */
  process: boolean;
  pid?: number;
  command?: string;
  args?: string[];
  env?: Record<string, string>;
  substitutions?: string[];
  gpuStandIn?: boolean;
  ready: boolean;
  /** The readiness probe has given a result for the current process. */
  probed?: boolean;
  restarts: number;
  exits: { code: number | null; signal: string | null; at: string }[];
  /** Seconds from SIGTERM to exit, for each termination. */
  drainSeconds?: number;
  deleted?: boolean;
  log?: string;
  error?: string;
}

interface PodState {
  record: PodRecord;
  pod: k8s.V1Pod;
  proc?: Managed;
  plan?: ProcessPlan;
  /** Bumped whenever the process is replaced or stopped: stale probe loops end. */
  generation: number;
  stopping: boolean;
  timers: Set<NodeJS.Timeout>;
}

const SA_MOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';

function ip(args: string[]): void {
  try {
    execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const message = String((err as { stderr?: Buffer }).stderr ?? err);
    if (!/File exists|Cannot assign requested address|Address not found/.test(message)) throw err;
  }
}

export class NodeAgent {
  private readonly core: k8s.CoreV1Api;
  private readonly informer: k8s.Informer<k8s.V1Pod> & k8s.ObjectCache<k8s.V1Pod>;
  private readonly states = new Map<string, PodState>();
  private readonly queues = new Map<string, Promise<void>>();
  private readonly log: (m: string) => void;
  private stopped = false;
  readonly stateFile: string;

  constructor(private readonly opts: AgentOptions) {
    this.core = opts.kc.makeApiClient(k8s.CoreV1Api);
    this.stateFile = join(opts.dir, 'agent-state.json');
    mkdirSync(join(opts.dir, 'pods'), { recursive: true });
    mkdirSync(join(opts.dir, 'logs'), { recursive: true });
    const logFile = join(opts.dir, 'logs', 'node-agent.log');
    this.log = opts.log ?? ((m) => appendFileSync(logFile, `${new Date().toISOString()} ${m}\n`));
    this.informer = k8s.makeInformer(opts.kc, '/api/v1/pods', () => this.core.listPodForAllNamespaces());
    const enqueue = (pod: k8s.V1Pod): void => this.enqueue(pod);
    this.informer.on('add', enqueue);
    this.informer.on('update', enqueue);
    this.informer.on('delete', (pod) => this.enqueue(pod, true));
    this.informer.on('connect', () => this.log('pod watch connected'));
    this.informer.on('error', (err: unknown) => {
      if (this.stopped) return;
      this.log(`pod watch failed (${String(err)}); restarting in 1 s`);
      setTimeout(() => void this.informer.start().catch(() => undefined), 1000);
    });
    this.writeState();
  }

  start(): Promise<void> {
    return this.informer.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.informer.stop();
    await Promise.all(
      [...this.states.values()].filter((st) => !st.record.deleted).map(async (st) => {
        st.generation++;
        st.stopping = true;
        for (const t of st.timers) clearTimeout(t);
        await st.proc?.stop(5000);
        if (st.record.process) ip(['addr', 'del', `${st.record.ip}/32`, 'dev', 'lo']);
      }),
    );
    this.writeState();
  }

  private enqueue(pod: k8s.V1Pod, gone = false): void {
    const uid = pod.metadata?.uid;
    if (!uid || this.stopped || !this.opts.nodes.has(pod.spec?.nodeName ?? '')) return;
    const next = (this.queues.get(uid) ?? Promise.resolve())
      .then(() => (gone ? this.gone(uid) : this.reconcile(pod)))
      .catch((err: unknown) => this.fail(uid, pod, err));
    this.queues.set(uid, next);
  }

  private fail(uid: string, pod: k8s.V1Pod, err: unknown): void {
    const st = this.states.get(uid);
    this.log(`${pod.metadata?.namespace}/${pod.metadata?.name}: ${String(err)}`);
    if (st) st.record.error = String(err);
    this.writeState();
  }

  private async reconcile(pod: k8s.V1Pod): Promise<void> {
    const uid = pod.metadata!.uid!;
    const st = this.states.get(uid);
    if (st) st.pod = pod;
    if (pod.metadata?.deletionTimestamp) {
      if (!st) return this.remove(pod);
      if (!st.stopping) await this.terminate(st);
      return;
    }
    if (!st && pod.status?.phase === 'Running' && pod.status.podIP) await this.startPod(pod);
    else if (st && !st.stopping && (st.record.process ? st.proc?.running() && st.record.probed : st.record.ready)) {
      // the status manager's part: what the API says must be what the probes say (the node
      // lifecycle controller, for one, marks pods NotReady when their node misses heartbeats)
      const apiReady = pod.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
      if (apiReady !== st.record.ready) await this.reportReady(st, st.record.ready, true);
    }
  }

  /** The pod object is gone (deleted with grace 0 by someone): its process goes too. */
  private async gone(uid: string): Promise<void> {
    const st = this.states.get(uid);
    if (!st || st.stopping) return;
    st.stopping = true;
    st.generation++;
    await st.proc?.stop(2000);
    this.finish(st);
  }

  private async startPod(pod: k8s.V1Pod): Promise<void> {
    const meta = pod.metadata!;
    const containers = pod.spec!.containers;
    const record: PodRecord = { namespace: meta.namespace!, name: meta.name!, uid: meta.uid!, node: pod.spec!.nodeName!, ip: pod.status!.podIP!, process: false, ready: false, restarts: 0, exits: [] };
    const st: PodState = { record, pod, generation: 0, stopping: false, timers: new Set() };
    this.states.set(meta.uid!, st);
    const image = containers.length === 1 ? this.opts.imageFor(containers[0].image ?? '') : undefined;
    if (!image) {
      // not ours (or several containers): no process to run here; report it ready as kwok would
      this.writeState();
      await this.reportReady(st, true, true);
      return;
    }
    if (pod.spec!.initContainers?.length) throw new Error('init containers are not run by the node agent: install with model.source=pvc or baked');
    record.process = true;
    const volumeDirs = await this.prepareVolumes(pod);
    const saDir = (containers[0].volumeMounts ?? []).find((m) => m.mountPath === SA_MOUNT);
    const kubeconfig = saDir
      ? kubeConfigFile(join(this.podDir(pod), 'kubeconfig'), this.opts.server, join(volumeDirs[saDir.name], 'ca.crt'), readFileSync(join(volumeDirs[saDir.name], 'token'), 'utf8'), meta.namespace)
      : undefined;
    st.plan = planProcess(pod, containers[0], { image, workdir: this.opts.workdir, volumeDirs, kubeconfig, gpuResource: this.opts.gpuResource });
    Object.assign(record, { command: st.plan.command, args: st.plan.args, env: st.plan.env, substitutions: st.plan.substitutions, gpuStandIn: st.plan.gpuStandIn, log: join(this.podDir(pod), 'container.log') });
    ip(['addr', 'add', `${record.ip}/32`, 'dev', 'lo']);
    this.log(`${record.namespace}/${record.name}: starting on ${record.node} at ${record.ip}${st.plan.gpuStandIn ? ' (CPU stand-in for a GPU pod)' : ''}`);
    this.run(st);
  }

  private podDir(pod: k8s.V1Pod): string {
    return join(this.opts.dir, 'pods', `${pod.metadata!.namespace}_${pod.metadata!.name}_${pod.metadata!.uid!.slice(0, 8)}`);
  }

  /** emptyDir: a fresh directory; PVC: its bound PV's hostPath; projected: token, CA and namespace files. */
  private async prepareVolumes(pod: k8s.V1Pod): Promise<Record<string, string>> {
    const dirs: Record<string, string> = {};
    const ns = pod.metadata!.namespace!;
    for (const v of pod.spec!.volumes ?? []) {
      const dir = join(this.podDir(pod), 'volumes', v.name);
      if (v.emptyDir) {
        mkdirSync(dir, { recursive: true });
        dirs[v.name] = dir;
      } else if (v.persistentVolumeClaim) {
        const claim = await this.core.readNamespacedPersistentVolumeClaim({ name: v.persistentVolumeClaim.claimName, namespace: ns });
        if (claim.status?.phase !== 'Bound' || !claim.spec?.volumeName) throw new Error(`claim ${claim.metadata?.name} is not bound`);
        const pv = await this.core.readPersistentVolume({ name: claim.spec.volumeName });
        const path = pv.spec?.hostPath?.path ?? pv.spec?.local?.path;
        if (!path || !existsSync(path)) throw new Error(`PersistentVolume ${pv.metadata?.name} has no hostPath/local path on this machine`);
        dirs[v.name] = path;
      } else if (v.projected) {
        mkdirSync(dir, { recursive: true });
        for (const source of v.projected.sources ?? []) {
          if (source.serviceAccountToken) {
            const request = await this.core.createNamespacedServiceAccountToken({
              name: pod.spec!.serviceAccountName ?? 'default',
              namespace: ns,
              body: { spec: { audiences: source.serviceAccountToken.audience ? [source.serviceAccountToken.audience] : [], expirationSeconds: source.serviceAccountToken.expirationSeconds ?? 3600, boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata!.name, uid: pod.metadata!.uid } } },
            });
            writeFileSync(join(dir, source.serviceAccountToken.path), request.status!.token, { mode: 0o600 });
          } else if (source.configMap) {
            const cm = await this.core.readNamespacedConfigMap({ name: source.configMap.name!, namespace: ns });
            for (const item of source.configMap.items ?? Object.keys(cm.data ?? {}).map((key) => ({ key, path: key }))) writeFileSync(join(dir, item.path), cm.data?.[item.key] ?? '');
          } else if (source.downwardAPI) {
            for (const item of source.downwardAPI.items ?? []) {
              if (item.fieldRef?.fieldPath !== 'metadata.namespace') throw new Error(`downwardAPI ${item.fieldRef?.fieldPath} is not supported`);
              writeFileSync(join(dir, item.path), ns);
            }
          } else throw new Error(`projected volume source ${Object.keys(source).join(',')} is not supported`);
        }
        dirs[v.name] = dir;
      } else throw new Error(`volume ${v.name}: only emptyDir, persistentVolumeClaim and projected are supported`);
    }
    return dirs;
  }

  private run(st: PodState): void {
    const plan = st.plan!;
    const generation = ++st.generation;
    const proc = launch(st.record.name, plan.command, plan.args, { env: plan.env, cwd: plan.cwd, logFile: st.record.log! });
    st.proc = proc;
    st.record.pid = proc.proc.pid;
    st.record.probed = false;
    this.writeState();
    void proc.exited.then(({ code, signal }) => {
      st.record.exits.push({ code, signal, at: new Date().toISOString() });
      this.writeState();
      if (st.stopping || this.stopped || generation !== st.generation) return;
      // restartPolicy Always: report not ready, back off, start again
      this.log(`${st.record.name} exited (${code ?? signal}); restarting`);
      st.generation++;
      st.record.restarts++;
      void this.reportReady(st, false, false).catch(() => undefined);
      this.later(st, () => this.run(st), Math.min(1000 * 2 ** (st.record.restarts - 1), 10_000));
    });
    void this.probeLoop(st, generation);
  }

  private later(st: PodState, fn: () => void, ms: number): void {
    const t = setTimeout(() => {
      st.timers.delete(t);
      fn();
    }, ms);
    st.timers.add(t);
  }

  private async probe(st: PodState, p: k8s.V1Probe): Promise<boolean> {
    const get = p.httpGet;
    if (!get) throw new Error('only httpGet probes are supported by the node agent');
    const container = st.pod.spec!.containers[0];
    const port = typeof get.port === 'number' ? get.port : (container.ports ?? []).find((cp) => cp.name === get.port)?.containerPort ?? Number(get.port);
    if (!port) throw new Error(`probe port ${get.port} is not a port of the container`);
    try {
      const res = await fetch(`http://${st.record.ip}:${port}${get.path ?? '/'}`, { signal: AbortSignal.timeout((p.timeoutSeconds ?? 1) * 1000) });
      await res.body?.cancel();
      return res.status >= 200 && res.status < 400;
    } catch {
      return false;
    }
  }

  /** Startup first (nothing else runs until it passes), then readiness and liveness side by side. */
  private async probeLoop(st: PodState, generation: number): Promise<void> {
    const container = st.pod.spec!.containers[0];
    const live = (): boolean => generation === st.generation && !this.stopped;
    const sleep = (s: number): Promise<void> => new Promise((r) => this.later(st, r, s * 1000));
    const startup = container.startupProbe;
    if (startup) {
      await sleep(startup.initialDelaySeconds ?? 0);
      for (let failures = 0; live(); ) {
        if (await this.probe(st, startup)) break;
        if (++failures >= (startup.failureThreshold ?? 3)) {
          this.log(`${st.record.name}: startup probe failed ${failures} times; killing`);
          st.proc?.proc.kill('SIGKILL');
          return;
        }
        await sleep(startup.periodSeconds ?? 10);
      }
    }
    if (!live()) return;
    const loop = async (p: k8s.V1Probe | undefined, onResult: (ok: boolean, streak: number) => Promise<void>): Promise<void> => {
      if (!p) return;
      await sleep(p.initialDelaySeconds ?? 0);
      let last: boolean | undefined;
      let streak = 0;
      while (live()) {
        const ok = await this.probe(st, p);
        streak = ok === last ? streak + 1 : 1;
        last = ok;
        if (!live()) return;
        await onResult(ok, streak);
        await sleep(p.periodSeconds ?? 10);
      }
    };
    const readiness = container.readinessProbe;
    const liveness = container.livenessProbe;
    if (!readiness) await this.reportReady(st, true, true);
    await Promise.all([
      loop(readiness, async (ok, streak) => {
        const threshold = ok ? readiness!.successThreshold ?? 1 : readiness!.failureThreshold ?? 3;
        if (ok !== st.record.ready && streak >= threshold) await this.reportReady(st, ok, true);
        st.record.probed = true;
      }),
      loop(liveness, async (ok, streak) => {
        if (!ok && streak >= (liveness!.failureThreshold ?? 3)) {
          this.log(`${st.record.name}: liveness probe failed ${streak} times; restarting`);
          st.proc?.proc.kill('SIGKILL');
        }
      }),
    ]);
  }

  private async reportReady(st: PodState, ready: boolean, started: boolean): Promise<void> {
    if (st.record.ready !== ready) this.log(`${st.record.namespace}/${st.record.name}: ${ready ? 'ready' : 'not ready'}`);
    st.record.ready = ready;
    this.writeState();
    const now = new Date();
    const status = ready ? 'True' : 'False';
    const container = st.pod.spec!.containers[0];
    const body = {
      status: {
        conditions: [
          { type: 'Ready', status, lastTransitionTime: now, ...(ready ? {} : { reason: 'ContainersNotReady' }) },
          { type: 'ContainersReady', status, lastTransitionTime: now, ...(ready ? {} : { reason: 'ContainersNotReady' }) },
        ],
        containerStatuses: [{ name: container.name, image: container.image, imageID: '', ready, started, restartCount: st.record.restarts, state: { running: { startedAt: now } } }],
      },
    };
    await this.core.patchNamespacedPodStatus({ name: st.record.name, namespace: st.record.namespace, body }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch));
  }

  /** preStop, SIGTERM, the grace period, SIGKILL; then the pod object goes. */
  private async terminate(st: PodState): Promise<void> {
    st.stopping = true;
    this.log(`${st.record.namespace}/${st.record.name}: terminating`);
    const pod = st.pod;
    const grace = pod.metadata?.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
    const deadline = Date.now() + grace * 1000;
    if (st.proc?.running()) {
      const preStop = pod.spec!.containers[0].lifecycle?.preStop;
      if (preStop?.sleep) await new Promise((r) => setTimeout(r, Math.min(preStop.sleep!.seconds * 1000, grace * 1000)));
      else if (preStop) throw new Error('only the sleep preStop action is supported by the node agent');
      const termAt = Date.now();
      await st.proc.stop(Math.max(deadline - Date.now(), 0));
      st.record.drainSeconds = (Date.now() - termAt) / 1000;
    }
    st.generation++;
    for (const t of st.timers) clearTimeout(t);
    await this.remove(pod);
    this.finish(st);
  }

  private finish(st: PodState): void {
    if (st.record.process) ip(['addr', 'del', `${st.record.ip}/32`, 'dev', 'lo']);
    st.record.deleted = true;
    st.record.ready = false;
    this.log(`${st.record.namespace}/${st.record.name}: gone`);
    this.writeState();
  }

  private async remove(pod: k8s.V1Pod): Promise<void> {
    // grace 0 in the body: with a body, the API server ignores the query parameters
    await this.core.deleteNamespacedPod({ name: pod.metadata!.name!, namespace: pod.metadata!.namespace!, body: { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata!.uid } } }).catch((err: unknown) => {
      if ((err as { code?: number }).code !== 404 && (err as { code?: number }).code !== 409) throw err;
    });
  }

  private writeState(): void {
    const pods = [...this.states.values()].map((s) => s.record);
    // written whole and renamed, so a test never reads half a file
    writeFileSync(`${this.stateFile}.tmp`, JSON.stringify({ pods }, null, 1));
    renameSync(`${this.stateFile}.tmp`, this.stateFile);
  }
}

export function readAgentState(file: string): PodRecord[] {
  return (JSON.parse(readFileSync(file, 'utf8')) as { pods: PodRecord[] }).pods;
}
