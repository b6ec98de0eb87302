// Global setup of `npm run test:cluster`: one real control plane and the node agent for every
// test file, stopped after the last one. Runs inside the network namespace tools/cluster/run.sh
// made (startControlPlane refuses to run anywhere else).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import type { TestProject } from 'vitest/node';
import { projectRoot } from '../../src/env.js';
import { buildBinaries, startControlPlane } from '../../tools/cluster/control-plane.js';
import { readImageConfig } from '../../tools/cluster/image.js';
import { NodeAgent } from '../../tools/cluster/kubelet.js';
import { NODES } from '../../tools/cluster/nodes.js';
import { IMAGE_REPOSITORY, type ClusterInfo } from './info.js';

declare module 'vitest' {
  export interface ProvidedContext {
    cluster: ClusterInfo;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'audiodecode-cluster-'));
  const cp = await startControlPlane(dir, buildBinaries());
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(cp.kubeconfig);
  // Our two images: the tag suffix says which Dockerfile built it (values pools.*.imageSuffix).
  const images = { gpu: readImageConfig('Dockerfile.gpu'), cpu: readImageConfig('Dockerfile.cpu') };
  const agent = new NodeAgent({
    kc,
    server: cp.server,
    dir,
    nodes: new Set(NODES.map((n) => n.name)),
    imageFor: (image) => (image.startsWith(`${IMAGE_REPOSITORY}:`) ? (image.endsWith('-gpu') ? images.gpu : images.cpu) : undefined),
    workdir: projectRoot,
    gpuResource: 'nvidia.com/gpu',
  });
  await agent.start();
  process.stderr.write(`cluster: control plane and node agent up in ${((Date.now() - started) / 1000).toFixed(1)} s; logs in ${dir}\n`);
  project.provide('cluster', { dir, kubeconfig: cp.kubeconfig, server: cp.server, caFile: cp.caFile, stateFile: agent.stateFile });
  return async () => {
    await agent.stop();
    await cp.stop();
    rmSync(join(dir, 'etcd'), { recursive: true, force: true });
    process.stderr.write(`cluster: stopped; logs kept in ${dir}/logs\n`);
  };
}
