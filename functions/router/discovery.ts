// Where the pools' ready endpoints come from: static lists, or EndpointSlices watched through
// @kubernetes/client-node (list, then watch; no polling). One interface, two sources.
import * as k8s from '@kubernetes/client-node';
import type { PoolName, RouterConfig } from './config.js';

export interface EndpointSource {
  /** Base URLs of the ready endpoints of a pool, as known now. */
  ready(pool: PoolName): string[];
  start(): Promise<void>;
  stop(): Promise<void>;
}

export class StaticEndpoints implements EndpointSource {
  constructor(private readonly endpoints: Record<PoolName, string[]>) {}
  ready(pool: PoolName): string[] {
    return this.endpoints[pool];
  }
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
}

/** Ready addresses of EndpointSlices, per pool Service. */
export function readyUrls(slices: readonly k8s.V1EndpointSlice[], service: string, portName: string): string[] {
  const urls: string[] = [];
  for (const slice of slices) {
    if (slice.metadata?.labels?.['kubernetes.io/service-name'] !== service) continue;
    const port = slice.ports?.find((p) => p.name === portName) ?? slice.ports?.[0];
    if (!port?.port) continue;
    for (const ep of slice.endpoints ?? []) {
      // ready is nil-means-true; terminating endpoints are draining and take no new work
      if (ep.conditions?.ready === false || ep.conditions?.terminating === true) continue;
      for (const address of ep.addresses) {
        const host = address.includes(':') ? `[${address}]` : address;
        urls.push(`http://${host}:${port.port}`);
      }
    }
  }
  return [...new Set(urls)].sort();
}

export class KubernetesEndpoints implements EndpointSource {
  private readonly informer: k8s.Informer<k8s.V1EndpointSlice> & k8s.ObjectCache<k8s.V1EndpointSlice>;

  constructor(
    kubeConfig: k8s.KubeConfig,
    private readonly config: Pick<RouterConfig, 'namespace' | 'services' | 'portName'>,
    private readonly log: (m: string) => void = (m) => process.stderr.write(`router: ${m}\n`),
  ) {
    const api = kubeConfig.makeApiClient(k8s.DiscoveryV1Api);
    const labelSelector = `kubernetes.io/service-name in (${config.services.gpu},${config.services.cpu})`;
    const path = `/apis/discovery.k8s.io/v1/namespaces/${config.namespace}/endpointslices`;
    this.informer = k8s.makeInformer(kubeConfig, path, () => api.listNamespacedEndpointSlice({ namespace: config.namespace, labelSelector }), labelSelector);
    this.informer.on('error', (err: unknown) => {
      this.log(`EndpointSlice watch failed (${String(err)}); restarting in 2 s`);
      setTimeout(() => void this.informer.start().catch(() => undefined), 2000);
    });
  }

  static fromEnvironment(config: Pick<RouterConfig, 'namespace' | 'services' | 'portName'>): KubernetesEndpoints {
    const kc = new k8s.KubeConfig();
    kc.loadFromDefault(); // in-cluster service account, else KUBECONFIG
    return new KubernetesEndpoints(kc, config);
  }

  ready(pool: PoolName): string[] {
    return readyUrls(this.informer.list(), this.config.services[pool], this.config.portName);
  }

  start(): Promise<void> {
    return this.informer.start();
  }

  stop(): Promise<void> {
    return this.informer.stop();
  }
}
