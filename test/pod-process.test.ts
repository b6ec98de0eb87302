import type * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MODEL } from '../src/index.js';
import { readImageConfig } from '../tools/cluster/image.js';
import { planProcess } from '../tools/cluster/pod-process.js';

// How the cluster harness's node agent turns a pod into a process (npm run test:cluster runs
// it for real); here the mapping rules alone, against our Dockerfiles.
const gpuImage = readImageConfig('Dockerfile.gpu');

function pod(container: Partial<k8s.V1Container>): k8s.V1Pod {
  return {
    metadata: { name: 'rel-gpu-abc', namespace: 'audio', uid: 'u1' },
    spec: { nodeName: 'gpu-a', containers: [{ name: 'c', image: 'x', ...container }], volumes: [{ name: 'models', emptyDir: {} }, { name: 'tmp', emptyDir: {} }] },
    status: { podIP: '10.244.1.7' },
  };
}

const ctx = { image: gpuImage, workdir: '/srv/app', volumeDirs: { models: '/scratch/models', tmp: '/scratch/tmp' }, gpuResource: 'nvidia.com/gpu' };

describe('pod spec to process', () => {
  it("reads the image's ENTRYPOINT, CMD and ENV (ARG defaults expanded) from its Dockerfile", () => {
    expect(gpuImage.entrypoint).toEqual(['tini', '--', 'node', 'dist/functions/shared/serve.js']);
    expect(gpuImage.cmd).toEqual(['transcribe']);
    expect(gpuImage.env).toMatchObject({ AUDIODECODE_DEVICE: 'cuda', AUDIODECODE_MODEL: DEFAULT_MODEL, AUDIODECODE_CACHE: '/models' });
    expect(gpuImage.workdir).toBe('/app');
  });

  it('args replace CMD under the ENTRYPOINT; env from values and fieldRefs; paths and the pod IP mapped; a GPU pod becomes a named CPU stand-in', () => {
    const c = {
      args: ['router'],
      env: [{ name: 'AUDIODECODE_CACHE', value: '/models' }, { name: 'AUDIODECODE_INSTANCE', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
      volumeMounts: [{ name: 'models', mountPath: '/models' }, { name: 'tmp', mountPath: '/tmp' }],
      resources: { limits: { 'nvidia.com/gpu': '1' } },
    };
    const plan = planProcess(pod(c), pod(c).spec!.containers[0], ctx);
    expect(plan.command).toBe(process.execPath);
    expect(plan.args).toEqual(['dist/functions/shared/serve.js', 'router']);
    expect(plan.cwd).toBe('/srv/app');
    expect(plan.env).toMatchObject({ AUDIODECODE_CACHE: '/scratch/models', AUDIODECODE_INSTANCE: 'rel-gpu-abc', TMPDIR: '/scratch/tmp', HOST: '10.244.1.7', AUDIODECODE_DEVICE: 'cpu', AUDIODECODE_COMPUTE_TYPE: 'int8', MALLOC_MMAP_THRESHOLD_: '16777216' });
    expect(plan.gpuStandIn).toBe(true);
    expect(plan.substitutions.join('\n')).toMatch(/CPU stand-in/);
  });

  it('a command replaces the ENTRYPOINT and drops CMD; no GPU asked, no stand-in; unsupported specs are refused', () => {
    const plan = planProcess(pod({ command: ['node', 'dist/tools/helm-test.js'] }), pod({ command: ['node', 'dist/tools/helm-test.js'] }).spec!.containers[0], ctx);
    expect(plan.args).toEqual(['dist/tools/helm-test.js']);
    expect(plan.gpuStandIn).toBe(false);
    expect(plan.env.AUDIODECODE_DEVICE).toBe('cuda'); // the image's own value, untouched
    expect(() => planProcess(pod({ command: ['python3'] }), pod({ command: ['python3'] }).spec!.containers[0], ctx)).toThrow(/node programs only/);
    const secret = { env: [{ name: 'K', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }] };
    expect(() => planProcess(pod(secret), pod(secret).spec!.containers[0], ctx)).toThrow(/only values and fieldRefs/);
    const withToken = { volumeMounts: [{ name: 'tmp', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' }] };
    expect(() => planProcess(pod(withToken), pod(withToken).spec!.containers[0], ctx)).toThrow(/ServiceAccount token but none was issued/);
  });
});
