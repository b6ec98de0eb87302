import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubernetesEndpoints } from '../../functions/router/discovery.js';
import { adminConfig, counter, rawGet, until } from './cluster.js';

// The router's EndpointSlice discovery (the real @kubernetes/client-node informer and our code)
// against the real API server's list and watch. Slices are written through the API here (no
// Service selects pods in this namespace, so the endpointslice controller leaves them alone);
// test/cluster/release.test.ts covers slices the controller publishes for real pods. The
// addresses are data only: nothing connects to them.
const NS = 'discovery';
const kc = adminConfig();
const core = kc.makeApiClient(k8s.CoreV1Api);
const discoveryApi = kc.makeApiClient(k8s.DiscoveryV1Api);

function slice(name: string, service: string, endpoints: { ip: string; ready?: boolean; terminating?: boolean }[], resourceVersion?: string): k8s.V1EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name, namespace: NS, labels: { 'kubernetes.io/service-name': service }, resourceVersion },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: endpoints.map((e) => ({ addresses: [e.ip], conditions: { ready: e.ready ?? true, terminating: e.terminating ?? false } })),
  };
}

/** Namespaced EndpointSlice LISTs served so far, and WATCHes open now (the API server's metrics). */
async function endpointSliceRequests(verb: 'LIST' | 'WATCH'): Promise<number> {
  const { body } = await rawGet(kc, '/metrics');
  const labels = { resource: 'endpointslices', scope: 'namespace', verb };
  return verb === 'LIST' ? counter(body, 'apiserver_request_total', labels) : counter(body, 'apiserver_longrunning_requests', labels);
}

describe('EndpointSlice discovery against the real API server', () => {
  let source: KubernetesEndpoints;
  let listsBefore: number;

  beforeAll(async () => {
    await core.createNamespace({ body: { metadata: { name: NS } } });
    await discoveryApi.createNamespacedEndpointSlice({ namespace: NS, body: slice('gpu-a', 'audiodecode-gpu', [{ ip: '10.244.200.1' }]) });
    await discoveryApi.createNamespacedEndpointSlice({ namespace: NS, body: slice('other', 'something-else', [{ ip: '10.244.200.9' }]) });
    listsBefore = await endpointSliceRequests('LIST');
    source = new KubernetesEndpoints(kc, { namespace: NS, services: { gpu: 'audiodecode-gpu', cpu: 'audiodecode-cpu' }, portName: 'http' }, () => undefined);
    await source.start();
  });

  afterAll(async () => {
    await source?.stop();
    await core.deleteNamespace({ name: NS }).catch(() => undefined);
  });

  it('lists the two pool Services by label selector (another Service is not taken)', () => {
    expect(source.ready('gpu')).toEqual(['http://10.244.200.1:8080']);
    expect(source.ready('cpu')).toEqual([]);
  });

  it('follows added, modified and deleted slices through one watch: ready in, not-ready and terminating out', async () => {
    await discoveryApi.createNamespacedEndpointSlice({ namespace: NS, body: slice('cpu-a', 'audiodecode-cpu', [{ ip: '10.244.201.1' }]) });
    await until('the new CPU slice', () => source.ready('cpu').length === 1, 10_000, 20);
    const current = await discoveryApi.readNamespacedEndpointSlice({ name: 'gpu-a', namespace: NS });
    await discoveryApi.replaceNamespacedEndpointSlice({
      name: 'gpu-a',
      namespace: NS,
      body: slice('gpu-a', 'audiodecode-gpu', [{ ip: '10.244.200.1', terminating: true, ready: false }, { ip: '10.244.200.2' }, { ip: '10.244.200.3', ready: false }], current.metadata!.resourceVersion),
    });
    await until('the modified GPU slice', () => source.ready('gpu')[0] === 'http://10.244.200.2:8080', 10_000, 20);
    expect(source.ready('gpu')).toEqual(['http://10.244.200.2:8080']);
    await discoveryApi.deleteNamespacedEndpointSlice({ name: 'gpu-a', namespace: NS });
    await until('the deleted GPU slice', () => source.ready('gpu').length === 0, 10_000, 20);
    expect(source.ready('cpu')).toEqual(['http://10.244.201.1:8080']);
    // one list at start, then only the watch (the API server's own request counters)
    expect((await endpointSliceRequests('LIST')) - listsBefore).toBe(1);
    expect(await endpointSliceRequests('WATCH')).toBe(1);
  });
});
