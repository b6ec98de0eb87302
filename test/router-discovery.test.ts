import * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { Balancer } from '../functions/router/balancer.js';
import { readyUrls, StaticEndpoints } from '../functions/router/discovery.js';
import { poolOrder } from '../functions/router/policy.js';

// EndpointSlice list/watch through @kubernetes/client-node runs against a real API server in
// test/cluster/discovery.test.ts and test/cluster/release.test.ts (npm run test:cluster). Here:
// how slices become endpoint URLs, which needs no server.
function slice(name: string, service: string, endpoints: { ip: string; ready?: boolean; terminating?: boolean }[]): k8s.V1EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name, namespace: 'audio', labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: endpoints.map((e) => ({ addresses: [e.ip], conditions: { ready: e.ready ?? true, terminating: e.terminating ?? false } })),
  };
}

describe('EndpointSlices to endpoint URLs', () => {
  it('takes ready, non-terminating addresses of the named Service only, and formats IPv6 addresses', () => {
    const urls = readyUrls(
      [
        slice('x', 'other', [{ ip: '10.9.9.9' }]),
        slice('a', 'audiodecode-cpu', [{ ip: '10.0.0.1' }, { ip: '10.0.0.2', ready: false }, { ip: '10.0.0.3', terminating: true, ready: false }]),
        { ...slice('v6', 'audiodecode-cpu', [{ ip: 'fd00::5' }]), addressType: 'IPv6' },
      ],
      'audiodecode-cpu',
      'http',
    );
    expect(urls).toEqual(['http://10.0.0.1:8080', 'http://[fd00::5]:8080']);
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
