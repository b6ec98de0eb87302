import { createServer, type Server, type ServerResponse } from 'node:http';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Balancer } from '../functions/router/balancer.js';
import { KubernetesEndpoints, readyUrls, StaticEndpoints } from '../functions/router/discovery.js';
import { poolOrder } from '../functions/router/policy.js';

// No Kubernetes API server runs here. This is a stand-in, named as such: a loopback HTTP server
// that speaks the API's list and watch protocol for EndpointSlices, replaying recorded objects
// and events, so the real @kubernetes/client-node informer and our discovery code run against it.
function slice(name: string, service: string, endpoints: { ip: string; ready?: boolean; terminating?: boolean }[], rv: string): k8s.V1EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name, namespace: 'audio', resourceVersion: rv, labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: endpoints.map((e) => ({ addresses: [e.ip], conditions: { ready: e.ready ?? true, terminating: e.terminating ?? false } })),
  };
}

describe('EndpointSlice discovery through @kubernetes/client-node (recorded list/watch)', () => {
  let server: Server;
  let watcher: ServerResponse | undefined;
  const requests: string[] = [];
  let source: KubernetesEndpoints;

  const send = (type: 'ADDED' | 'MODIFIED' | 'DELETED', object: k8s.V1EndpointSlice): void => {
    watcher!.write(JSON.stringify({ type, object }) + '\n');
  };

  beforeAll(async () => {
    server = createServer((req, res) => {
      requests.push(req.url!);
      const url = new URL(req.url!, 'http://x');
      if (url.pathname !== '/apis/discovery.k8s.io/v1/namespaces/audio/endpointslices') {
        res.writeHead(404).end();
        return;
      }
      if (url.searchParams.get('watch') === 'true') {
        res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
        res.flushHeaders(); // the API server answers a watch at once, then streams events
        watcher = res;
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSliceList', metadata: { resourceVersion: '10' }, items: [slice('gpu-a', 'audiodecode-gpu', [{ ip: '10.0.0.1' }], '10')] }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const kc = new k8s.KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'loopback', server: `http://127.0.0.1:${(server.address() as { port: number }).port}`, skipTLSVerify: true }],
      users: [{ name: 'test', token: 'x' }],
      contexts: [{ name: 'test', cluster: 'loopback', user: 'test', namespace: 'audio' }],
      currentContext: 'test',
    });
    source = new KubernetesEndpoints(kc, { namespace: 'audio', services: { gpu: 'audiodecode-gpu', cpu: 'audiodecode-cpu' }, portName: 'http' }, () => undefined);
    await source.start();
  });

  afterAll(async () => {
    await source?.stop();
    watcher?.end();
    server?.closeAllConnections();
    server?.close();
  });

  async function until(check: () => boolean): Promise<void> {
    const deadline = Date.now() + 3000;
    while (!check()) {
      if (Date.now() > deadline) throw new Error('discovery did not converge');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it('lists with a selector for the two pool Services, then watches', async () => {
    expect(source.ready('gpu')).toEqual(['http://10.0.0.1:8080']);
    expect(source.ready('cpu')).toEqual([]);
    expect(new URL(requests[0], 'http://x').searchParams.get('labelSelector')).toBe('kubernetes.io/service-name in (audiodecode-gpu,audiodecode-cpu)');
    await until(() => watcher !== undefined);
    expect(requests.some((r) => r.includes('watch=true') && r.includes('resourceVersion=10'))).toBe(true);
  });

  it('follows added, modified and deleted slices without polling: ready in, not-ready and terminating out', async () => {
    send('ADDED', slice('cpu-a', 'audiodecode-cpu', [{ ip: '10.0.1.1' }], '11'));
    await until(() => source.ready('cpu').length === 1);
    send('MODIFIED', slice('gpu-a', 'audiodecode-gpu', [{ ip: '10.0.0.1', terminating: true, ready: false }, { ip: '10.0.0.2' }, { ip: '10.0.0.3', ready: false }], '12'));
    await until(() => source.ready('gpu')[0] === 'http://10.0.0.2:8080');
    expect(source.ready('gpu')).toEqual(['http://10.0.0.2:8080']);
    send('DELETED', slice('gpu-a', 'audiodecode-gpu', [], '13'));
    await until(() => source.ready('gpu').length === 0);
    expect(source.ready('cpu')).toEqual(['http://10.0.1.1:8080']);
    const listRequests = requests.filter((r) => !r.includes('watch=true')).length;
    expect(listRequests).toBe(1); // one list, then only the watch
  });

  it('ignores slices of other Services and formats IPv6 addresses', () => {
    const urls = readyUrls([slice('x', 'other', [{ ip: '10.9.9.9' }], '1'), { ...slice('v6', 'audiodecode-cpu', [{ ip: 'fd00::5' }], '1'), addressType: 'IPv6' }], 'audiodecode-cpu', 'http');
    expect(urls).toEqual(['http://[fd00::5]:8080']);
  });
});

describe('routing policy and breaker', () => {
  const cfg = { gpuBusyInFlight: 4, shortClipBytes: 1000 };

  it('prefers GPU, spills to CPU when GPU is empty or overloaded, and sends short clips to CPU when GPU is busy', () => {
    const balancer = new Balancer(2, 1000);
    const source = new StaticEndpoints({ gpu: ['http://g1'], cpu: ['http://c1'] });
    expect(poolOrder(undefined, 5000, source, balancer, cfg)).toEqual(['gpu', 'cpu']);
    expect(poolOrder('cpu', 5000, source, balancer, cfg)).toEqual(['cpu']);
    for (let i = 0; i < 2; i++) balancer.begin('http://g1');
    expect(poolOrder(undefined, 500, source, balancer, cfg)).toEqual(['cpu', 'gpu']); // short clip, GPU half busy
    expect(poolOrder(undefined, 5000, source, balancer, cfg)).toEqual(['gpu', 'cpu']);
    for (let i = 0; i < 2; i++) balancer.begin('http://g1');
    expect(poolOrder(undefined, 5000, source, balancer, cfg)).toEqual(['cpu', 'gpu']); // overloaded
    expect(poolOrder(undefined, 5000, new StaticEndpoints({ gpu: [], cpu: ['http://c1'] }), balancer, cfg)).toEqual(['cpu', 'gpu']);
  });

  it('opens after repeated failures, lets one trial through after the cooldown, and closes on success', () => {
    let now = 0;
    const balancer = new Balancer(2, 1000, () => now);
    const urls = ['http://a', 'http://b'];
    for (let i = 0; i < 2; i++) {
      balancer.begin('http://a');
      balancer.end('http://a', false);
    }
    expect(balancer.breaker('http://a')).toBe('open');
    expect(balancer.pick(urls, new Set())).toBe('http://b');
    now = 1500;
    expect(balancer.breaker('http://a')).toBe('half-open');
    expect(balancer.pick(['http://a'], new Set())).toBe('http://a');
    balancer.begin('http://a');
    expect(balancer.available('http://a')).toBe(false); // one trial at a time
    balancer.end('http://a', true);
    expect(balancer.breaker('http://a')).toBe('closed');
  });

  it('balances on the least outstanding load, counting what instances report', () => {
    const balancer = new Balancer(3, 1000);
    balancer.begin('http://a');
    expect(balancer.pick(['http://a', 'http://b'], new Set())).toBe('http://b');
    balancer.begin('http://b');
    balancer.end('http://b', true, 5); // b says it has 5 in flight from other routers
    expect(balancer.pick(['http://a', 'http://b'], new Set())).toBe('http://a');
  });
});
