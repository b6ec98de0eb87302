// The cluster's addresses. Pods need ordinary (non-loopback) addresses, because EndpointSlices
// refuse loopback ones; such addresses are only ever used inside the network namespace that
// `npm run test:cluster` creates (tools/cluster/run.sh: `unshare --net`), where they sit on that
// namespace's own `lo`. Nothing here may run outside it: requireOwnNetworkNamespace() refuses.
import { readFileSync } from 'node:fs';

/** The API server's advertise address: the "host" address of every node, on lo. */
export const API_ADDRESS = '10.10.0.1';
export const API_PORT = 6443;
export const SERVICE_CIDR = '10.96.0.0/16';
/** Each kwok node gets a /24 of this as its spec.podCIDR; kwok hands out pod IPs from it. */
export const POD_CIDR = '10.244.0.0/16';

/**
 * A network namespace made for this run has `lo` and nothing else: no route leaves it, so no
 * traffic to these addresses can reach another machine. Anywhere else, refuse to start.
 */
export function requireOwnNetworkNamespace(): void {
  // /proc/self/net is this process's namespace (/sys/class/net is the one sysfs was mounted in)
  const interfaces = readFileSync('/proc/self/net/dev', 'utf8').split('\n').slice(2).map((l) => l.split(':')[0].trim()).filter(Boolean);
  if (interfaces.length !== 1 || interfaces[0] !== 'lo' || process.env.AUDIODECODE_CLUSTER_NETNS !== '1') {
    throw new Error(`the cluster harness runs only inside its own network namespace (npm run test:cluster); interfaces here: ${interfaces.join(', ')}`);
  }
}
