// The simulated node pools kwok keeps alive: two GPU nodes as the GPU Operator labels and taints
// them (one nvidia.com/gpu each, so a third GPU pod cannot fit), and two CPU nodes.
import type * as k8s from '@kubernetes/client-node';

export interface NodeShape {
  name: string;
  gpus: number;
  cpu: string;
  memory: string;
}

export const NODES: NodeShape[] = [
  { name: 'gpu-a', gpus: 1, cpu: '8', memory: '32Gi' },
  { name: 'gpu-b', gpus: 1, cpu: '8', memory: '32Gi' },
  { name: 'cpu-a', gpus: 0, cpu: '8', memory: '16Gi' },
  { name: 'cpu-b', gpus: 0, cpu: '8', memory: '16Gi' },
];

export const GPU_NODES = NODES.filter((n) => n.gpus > 0).map((n) => n.name);
export const CPU_NODES = NODES.filter((n) => n.gpus === 0).map((n) => n.name);

export function nodeManifest(shape: NodeShape, index: number): k8s.V1Node {
  // local disk, as a real node reports it: the chart's pods request ephemeral-storage for their emptyDirs
  const resources: Record<string, string> = { cpu: shape.cpu, memory: shape.memory, 'ephemeral-storage': '100Gi', pods: '110' };
  if (shape.gpus) resources['nvidia.com/gpu'] = String(shape.gpus);
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: shape.name,
      // kwok manages only nodes with this annotation (--manage-nodes-with-annotation-selector)
      annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      labels: {
        'kubernetes.io/hostname': shape.name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'audiodecode.io/node-pool': shape.gpus ? 'gpu' : 'cpu',
        ...(shape.gpus ? { 'nvidia.com/gpu.present': 'true' } : {}),
      },
    },
    spec: {
      podCIDR: `10.244.${index + 1}.0/24`,
      podCIDRs: [`10.244.${index + 1}.0/24`],
      taints: shape.gpus ? [{ key: 'nvidia.com/gpu', value: 'present', effect: 'NoSchedule' }] : [],
    },
    status: { allocatable: resources, capacity: resources },
  };
}
