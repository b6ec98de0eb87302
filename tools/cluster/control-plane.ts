// Starts a real Kubernetes control plane for the cluster tests: etcd (Debian's etcd-server),
// kube-apiserver, kube-controller-manager and kube-scheduler (built by tools/cluster/build.sh),
// and kwok, which keeps the simulated nodes of tools/cluster/nodes.ts alive and gives scheduled
// pods their IPs. Authentication: a static admin token and ServiceAccount tokens signed by a key
// made here; authorization: Node,RBAC, the real authorizer.
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { projectRoot } from '../../src/env.js';
import { API_ADDRESS, API_PORT, POD_CIDR, SERVICE_CIDR, requireOwnNetworkNamespace } from './network.js';
import { NODES, nodeManifest } from './nodes.js';
import { launch, until, type Managed } from './process.js';

export interface Binaries {
  /** Directory with kube-apiserver, kube-controller-manager, kube-scheduler. */
  kube: string;
  /** Directory with kwok. */
  kwok: string;
}

export interface ControlPlane {
  dir: string;
  server: string;
  caFile: string;
  /** Admin kubeconfig (system:masters, static token). */
  kubeconfig: string;
  components: Managed[];
  stop(): Promise<void>;
}

/** Where build.sh put the binaries (it prints the two directories). */
export function buildBinaries(): Binaries {
  const [kube, kwok] = execFileSync('bash', [join(projectRoot, 'tools', 'cluster', 'build.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n');
  return { kube, kwok };
}

export function kubeConfigFile(path: string, server: string, caFile: string, token: string, namespace = 'default'): string {
  writeFileSync(
    path,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'audiodecode-test', cluster: { server, 'certificate-authority': caFile } }],
      users: [{ name: 'user', user: { token } }],
      contexts: [{ name: 'ctx', context: { cluster: 'audiodecode-test', user: 'user', namespace } }],
      'current-context': 'ctx',
    }),
    { mode: 0o600 },
  );
  return path;
}

function httpsStatus(url: string, ca: string, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, headers: { Authorization: `Bearer ${token}` }, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}

export async function startControlPlane(dir: string, bins: Binaries, log: (m: string) => void = (m) => process.stderr.write(`cluster: ${m}\n`)): Promise<ControlPlane> {
  requireOwnNetworkNamespace();
  for (const sub of ['etcd', 'pki', 'logs']) mkdirSync(join(dir, sub), { recursive: true });
  const logs = join(dir, 'logs');
  const components: Managed[] = [];
  const stop = async (): Promise<void> => {
    // reverse order: nodes and controllers first, etcd last
    for (const c of components.slice().reverse()) await c.stop(10_000);
  };
  try {
    // ServiceAccount token signing key, and the admin's static token
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const saKey = join(dir, 'pki', 'sa.key');
    const saPub = join(dir, 'pki', 'sa.pub');
    writeFileSync(saKey, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    writeFileSync(saPub, publicKey.export({ type: 'spki', format: 'pem' }));
    const adminToken = randomBytes(24).toString('hex');
    writeFileSync(join(dir, 'pki', 'tokens.csv'), `${adminToken},admin,admin,"system:masters"\n`, { mode: 0o600 });

    const etcd = launch('etcd', 'etcd', [
      '--name=audiodecode-test',
      `--data-dir=${join(dir, 'etcd')}`,
      '--listen-client-urls=http://127.0.0.1:2379',
      '--advertise-client-urls=http://127.0.0.1:2379',
      '--listen-peer-urls=http://127.0.0.1:2380',
      '--initial-advertise-peer-urls=http://127.0.0.1:2380',
      '--initial-cluster=audiodecode-test=http://127.0.0.1:2380',
      '--log-level=warn',
    ], { logFile: join(logs, 'etcd.log') });
    components.push(etcd);
    await until('etcd /health', async () => {
      if (!etcd.running()) throw new Error(`etcd exited: ${etcd.tail()}`);
      const res = await fetch('http://127.0.0.1:2379/health');
      return res.ok;
    }, 30_000);
    log('etcd up');

    const server = `https://${API_ADDRESS}:${API_PORT}`;
    const apiserver = launch('kube-apiserver', join(bins.kube, 'kube-apiserver'), [
      '--etcd-servers=http://127.0.0.1:2379',
      `--advertise-address=${API_ADDRESS}`,
      `--bind-address=${API_ADDRESS}`,
      `--secure-port=${API_PORT}`,
      `--cert-dir=${join(dir, 'pki')}`,
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      '--service-account-issuer=https://kubernetes.default.svc',
      `--service-account-key-file=${saPub}`,
      `--service-account-signing-key-file=${saKey}`,
      `--token-auth-file=${join(dir, 'pki', 'tokens.csv')}`,
      '--authorization-mode=Node,RBAC',
      '--allow-privileged=true',
      '--profiling=false',
      '--v=1',
    ], { logFile: join(logs, 'kube-apiserver.log') });
    components.push(apiserver);
    // with no --tls-cert-file the API server writes a self-signed CA and serving cert here
    const caFile = join(dir, 'pki', 'apiserver.crt');
    await until('kube-apiserver /readyz', async () => {
      if (!apiserver.running()) throw new Error(`kube-apiserver exited: ${apiserver.tail()}`);
      if (!existsSync(caFile)) return false;
      return (await httpsStatus(`${server}/readyz`, readFileSync(caFile, 'utf8'), adminToken)) === 200;
    }, 120_000, 500);
    log('kube-apiserver ready');
    const kubeconfig = kubeConfigFile(join(dir, 'admin.kubeconfig'), server, caFile, adminToken);

    components.push(
      launch('kube-controller-manager', join(bins.kube, 'kube-controller-manager'), [
        `--kubeconfig=${kubeconfig}`,
        '--leader-elect=false',
        '--secure-port=0',
        `--service-account-private-key-file=${saKey}`,
        `--root-ca-file=${caFile}`,
        `--service-cluster-ip-range=${SERVICE_CIDR}`,
        // the HPA raises Deployments to minReplicas within seconds instead of 15 s
        '--horizontal-pod-autoscaler-sync-period=5s',
        '--v=1',
      ], { logFile: join(logs, 'kube-controller-manager.log') }),
      launch('kube-scheduler', join(bins.kube, 'kube-scheduler'), [`--kubeconfig=${kubeconfig}`, '--leader-elect=false', '--secure-port=0', '--v=1'], { logFile: join(logs, 'kube-scheduler.log') }),
      launch('kwok', join(bins.kwok, 'kwok'), [
        `--kubeconfig=${kubeconfig}`,
        `--config=${join(projectRoot, 'tools', 'cluster', 'kwok.yaml')}`,
        `--cidr=${POD_CIDR}`,
        `--node-ip=${API_ADDRESS}`,
        // heartbeats through node Leases, renewed every 10 s as a kubelet does; kwok's status-only
        // heartbeat comes every 20-45 s, later on a loaded machine, and the node lifecycle
        // controller then marks nodes and their pods NotReady (40 s grace)
        '--node-lease-duration-seconds=40',
      ], { logFile: join(logs, 'kwok.log') }),
    );

    const kc = new k8s.KubeConfig();
    kc.loadFromFile(kubeconfig);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    for (const [i, shape] of NODES.entries()) await core.createNode({ body: nodeManifest(shape, i) });
    for (const shape of NODES) {
      await until(`node ${shape.name} Ready (kwok)`, async () => {
        for (const c of components) if (!c.running()) throw new Error(`${c.name} exited: ${c.tail()}`);
        const node = await core.readNode({ name: shape.name });
        return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
      }, 60_000, 500);
      // Nodes are registered with node.kubernetes.io/not-ready; the node lifecycle controller may
      // not lift it for nodes without a kubelet's full status, and while it is there nothing schedules.
      const node = await core.readNode({ name: shape.name });
      const taints = node.spec?.taints ?? [];
      if (taints.some((t) => t.key === 'node.kubernetes.io/not-ready')) {
        await core.patchNode(
          { name: shape.name, body: [{ op: 'replace', path: '/spec/taints', value: taints.filter((t) => t.key !== 'node.kubernetes.io/not-ready') }] },
          k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch),
        );
      }
    }
    log(`nodes ready: ${NODES.map((n) => n.name).join(', ')}`);
    return { dir, server, caFile, kubeconfig, components, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
