// A kubeadm-like PKI made with openssl at test time.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { runOk } from './proc';

export interface CertPair {
  cert: string;
  key: string;
}

export interface Pki {
  /** the /etc/kubernetes/pki-like directory */
  dir: string;
  ca: CertPair;
  frontProxyCa: CertPair;
  etcdCa: CertPair;
  etcdServer: CertPair; // SAN 127.0.0.1, localhost
  etcdPeer: CertPair;
  etcdHealthcheckClient: CertPair;
  apiserverEtcdClient: CertPair;
  sa: { key: string; pub: string };
  /** a client cert signed by a CA etcd does not trust (outside dir) */
  foreign: { ca: CertPair; client: CertPair };
}

async function ecKey(path: string) {
  await runOk('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', path]);
}

async function selfSigned(dir: string, name: string, cn: string): Promise<CertPair> {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.crt`);
  await ecKey(key);
  await runOk('openssl', ['req', '-x509', '-new', '-key', key, '-subj', `/CN=${cn}`, '-days', '2', '-out', cert,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature']);
  return { cert, key };
}

/** A random serial per certificate: -CAcreateserial shares one ca.srl file, which concurrent signings corrupt. */
function serial(): string {
  return `0x${randomBytes(16).toString('hex')}`;
}

async function signed(dir: string, name: string, ca: CertPair, subj: string, ext: string): Promise<CertPair> {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.crt`);
  const csr = join(dir, `.${name}.csr`);
  const extFile = join(dir, `.${name}.ext`);
  await ecKey(key);
  await runOk('openssl', ['req', '-new', '-key', key, '-subj', subj, '-out', csr]);
  writeFileSync(extFile, ext);
  await runOk('openssl', ['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-set_serial', serial(), '-days', '2',
    '-extfile', extFile, '-out', cert]);
  await runOk('rm', ['-f', csr, extFile]);
  return { cert, key };
}

const SERVER_EXT = 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n';
/** SERVER_EXT with extra IP SANs (e.g. every member of a multi-member etcd) */
const serverExt = (ips: string[] = []) =>
  ips.length === 0 ? SERVER_EXT : SERVER_EXT.replace('IP:127.0.0.1,', ['127.0.0.1', ...ips.filter((ip) => ip !== '127.0.0.1')].map((ip) => `IP:${ip},`).join(''));
const CLIENT_EXT = 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n';

/** Make root/pki (kubeadm layout) and root/foreign (a CA etcd does not trust, with a client cert). */
export async function makePki(root: string, opts: { /** extra IP SANs of the etcd server and peer certs */ serverIps?: string[] } = {}): Promise<Pki> {
  const dir = join(root, 'pki');
  const etcd = join(dir, 'etcd');
  const foreignDir = join(root, 'foreign');
  for (const d of [dir, etcd, foreignDir]) mkdirSync(d, { recursive: true });
  const [ca, frontProxyCa, etcdCa, foreignCa] = await Promise.all([
    selfSigned(dir, 'ca', 'kubernetes'),
    selfSigned(dir, 'front-proxy-ca', 'front-proxy-ca'),
    selfSigned(etcd, 'ca', 'etcd-ca'),
    selfSigned(foreignDir, 'ca', 'foreign-ca'),
  ]);
  const [etcdServer, etcdPeer, etcdHealthcheckClient, apiserverEtcdClient, foreignClient] = await Promise.all([
    signed(etcd, 'server', etcdCa, '/CN=node-1', serverExt(opts.serverIps)),
    signed(etcd, 'peer', etcdCa, '/CN=node-1', serverExt(opts.serverIps)),
    signed(etcd, 'healthcheck-client', etcdCa, '/O=system:masters/CN=kube-etcd-healthcheck-client', CLIENT_EXT),
    signed(dir, 'apiserver-etcd-client', etcdCa, '/O=system:masters/CN=kube-apiserver-etcd-client', CLIENT_EXT),
    signed(foreignDir, 'client', foreignCa, '/O=system:masters/CN=intruder', CLIENT_EXT),
  ]);
  const sa = { key: join(dir, 'sa.key'), pub: join(dir, 'sa.pub') };
  await runOk('openssl', ['genrsa', '-out', sa.key, '2048']);
  await runOk('openssl', ['rsa', '-in', sa.key, '-pubout', '-out', sa.pub]);
  return { dir, ca, frontProxyCa, etcdCa, etcdServer, etcdPeer, etcdHealthcheckClient, apiserverEtcdClient, sa,
    foreign: { ca: foreignCa, client: foreignClient } };
}

/** Relative paths of all regular files under dir (sorted). */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.isFile()) out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}
