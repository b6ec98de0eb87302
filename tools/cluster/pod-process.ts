// Turns a scheduled pod into the process a node would run for it: the container's command and
// args combined with its image's ENTRYPOINT/CMD as Kubernetes does, the image's ENV under the
// spec's env (values and fieldRefs resolved from the pod), volumes as directories. What a
// container runtime would isolate and this harness cannot, it substitutes, and says so in
// `substitutions` (the tests print them):
//   - network: every pod shares one network namespace, so the process binds its pod IP (HOST);
//   - file system: mount paths and the image's WORKDIR become host directories;
//   - init: the image's `tini --` is left out (the harness is the parent and forwards signals);
//   - GPU: a pod that asks for a GPU runs on CPU (int8), a CPU stand-in named as such;
//   - API access: a mounted ServiceAccount token arrives as a KUBECONFIG file, since the
//     in-cluster address (the kubernetes Service's ClusterIP) needs a kube-proxy that is not here.
import { isAbsolute, join, relative } from 'node:path';
import type * as k8s from '@kubernetes/client-node';
import type { ImageConfig } from './image.js';

export interface ProcessPlan {
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  /** Container path -> host directory, longest first. */
  mounts: [string, string][];
  substitutions: string[];
  gpuStandIn: boolean;
}

export interface PlanContext {
  image: ImageConfig;
  /** Host directory the image's WORKDIR stands for (the built project). */
  workdir: string;
  /** Host directory for each volume of the pod, by volume name. */
  volumeDirs: Record<string, string>;
  /** Written by the node agent for pods that mount a ServiceAccount token. */
  kubeconfig?: string;
  gpuResource: string;
}

function fieldRef(pod: k8s.V1Pod, path: string): string {
  const values: Record<string, string | undefined> = {
    'metadata.name': pod.metadata?.name,
    'metadata.namespace': pod.metadata?.namespace,
    'metadata.uid': pod.metadata?.uid,
    'spec.nodeName': pod.spec?.nodeName,
    'spec.serviceAccountName': pod.spec?.serviceAccountName,
    'status.podIP': pod.status?.podIP,
    'status.hostIP': pod.status?.hostIP,
  };
  const value = values[path];
  if (value === undefined) throw new Error(`fieldRef ${path} is not supported by the node agent`);
  return value;
}

export function planProcess(pod: k8s.V1Pod, container: k8s.V1Container, ctx: PlanContext): ProcessPlan {
  const substitutions: string[] = [];
  // Kubernetes: command replaces ENTRYPOINT (and drops CMD); args replace CMD.
  let argv = container.command ? [...container.command, ...(container.args ?? [])] : [...ctx.image.entrypoint, ...(container.args ?? ctx.image.cmd)];
  if (argv[0] === 'tini') {
    argv = argv.slice(argv[1] === '--' ? 2 : 1);
    substitutions.push('init: the image runs under tini; here the harness is the parent');
  }
  if (argv[0] !== 'node') throw new Error(`the node agent runs node programs only, not ${argv[0]}`);

  const mounts: [string, string][] = [[ctx.image.workdir, ctx.workdir]];
  for (const m of container.volumeMounts ?? []) {
    const dir = ctx.volumeDirs[m.name];
    if (!dir) throw new Error(`volume ${m.name} of ${pod.metadata?.name} has no directory`);
    mounts.push([m.mountPath, m.subPath ? join(dir, m.subPath) : dir]);
  }
  mounts.sort((a, b) => b[0].length - a[0].length);
  const toHost = (p: string): string => {
    for (const [inside, outside] of mounts) {
      if (p === inside || p.startsWith(`${inside}/`)) return join(outside, relative(inside, p));
    }
    return p;
  };

  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', ...ctx.image.env };
  for (const e of container.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.fieldRef) env[e.name] = fieldRef(pod, e.valueFrom.fieldRef.fieldPath);
    else throw new Error(`env ${e.name}: only values and fieldRefs are supported by the node agent`);
  }
  if (container.envFrom?.length) throw new Error('envFrom is not supported by the node agent');
  for (const [name, value] of Object.entries(env)) if (isAbsolute(value)) env[name] = toHost(value);
  const tmp = mounts.find(([inside]) => inside === '/tmp');
  if (tmp) env.TMPDIR = tmp[1];

  const podIP = pod.status?.podIP;
  if (!podIP) throw new Error(`${pod.metadata?.name} has no pod IP yet`);
  env.HOST = podIP;
  substitutions.push(`network: binds its pod IP ${podIP} (HOST) in the shared test network namespace`);

  const gpuStandIn = Boolean(container.resources?.limits?.[ctx.gpuResource] ?? container.resources?.requests?.[ctx.gpuResource]);
  if (gpuStandIn) {
    env.AUDIODECODE_DEVICE = 'cpu';
    env.AUDIODECODE_COMPUTE_TYPE = 'int8';
    substitutions.push(`GPU: asks for ${ctx.gpuResource}; runs as a CPU stand-in (device cpu, int8)`);
  }
  const token = (container.volumeMounts ?? []).find((m) => m.mountPath === '/var/run/secrets/kubernetes.io/serviceaccount');
  if (token) {
    if (!ctx.kubeconfig) throw new Error(`${pod.metadata?.name} mounts a ServiceAccount token but none was issued`);
    env.KUBECONFIG = ctx.kubeconfig;
    substitutions.push('API access: its ServiceAccount token through KUBECONFIG');
  }
  return { command: process.execPath, args: argv.slice(1), env, cwd: ctx.workdir, mounts, substitutions, gpuStandIn };
}
