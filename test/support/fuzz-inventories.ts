/**
 * Seeded inventory generator for the fuzz test: valid inventories of every storage kind and topology, and mutations
 * of them (hostile values and names, removed keys, wrong types, broken YAML, aliases, nesting). Deterministic for
 * a seed, so a failure is reproduced by its seed and index.
 */
import { stringify } from 'yaml';

/** mulberry32: small, fast and good enough to spread choices. */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rng = () => number;
const pick = <T>(rng: Rng, items: readonly T[]): T => items[Math.floor(rng() * items.length)];
const int = (rng: Rng, min: number, max: number) => min + Math.floor(rng() * (max - min + 1));

const RECIPIENT = 'age1xzcq5v8xm62cefatuwlqdcla6gp6pu7fw85q30nvf3xppuhtpgfsk9272a';
const WORDS = ['prod', 'staging', 'edge', 'eu-1', 'us-2', 'tenant-a', 'tenant-b', 'blue', 'green', 'lab', 'ci', 'dr'];
const SCHEDULES = ['0 2 * * *', '@hourly', '*/15 * * * *', '5-55/10 * * * *', '0 */6 * * *', '@daily', '30 1 * * mon-fri'];

const name = (rng: Rng, taken: Set<string>) => {
  for (;;) {
    const candidate = `${pick(rng, WORDS)}${rng() < 0.5 ? `-${int(rng, 1, 99)}` : ''}`;
    if (!taken.has(candidate)) return taken.add(candidate), candidate;
  }
};

/** A valid inventory document (plain data). */
export function validDocument(rng: Rng): Record<string, any> {
  const storageNames = new Set<string>();
  const storages: Record<string, any> = {};
  const s3Names: string[] = [];
  const localNames: string[] = [];
  const storageCount = int(rng, 1, 3);
  for (let i = 0; i < storageCount; i++) {
    const storageName = `${name(rng, storageNames)}-store`;
    const kind = i === 0 ? 's3' : pick(rng, ['s3', 's3', 'objectBucketClaim', 'local']);
    if (kind === 's3') {
      const insecure = rng() < 0.2;
      storages[storageName] = {
        s3: {
          endpoint: `${insecure ? 'http' : 'https'}://s3-${int(rng, 1, 9)}.example.com${rng() < 0.3 ? `:${int(rng, 1000, 9999)}` : ''}`,
          bucket: `backups-${int(rng, 100, 999)}`,
          ...(rng() < 0.5 ? { prefix: pick(rng, ['etcd', 'fleet/etcd', 'a.b/c_d']) } : {}),
          ...(rng() < 0.3 ? { pathStyle: true } : {}),
          ...(insecure ? { insecure: true } : {}),
          ...(rng() < 0.2 ? { caBundle: { configMap: 'internal-ca' } } : {}),
          ...(rng() < 0.2 ? { sse: { type: 'aws:kms', kmsKeyId: 'arn:aws:kms:eu-central-1:111122223333:key/abc' } } : {}),
        },
        credentials: rng() < 0.5
          ? { existingSecret: { name: 's3-credentials' } }
          : { externalSecret: { secretStoreRef: { name: 'vault' }, remoteKey: 'platform/s3' } },
        ...(rng() < 0.2 ? { retention: { keepLast: int(rng, 1, 30) } } : {}),
      };
      s3Names.push(storageName);
    } else if (kind === 'objectBucketClaim') {
      storages[storageName] = {
        // port: hosted clusters' NetworkPolicies allow the claim's port only, so it is required when one uses it
        objectBucketClaim: { storageClassName: 'rook-ceph-bucket', port: 443, ...(rng() < 0.5 ? { bucketName: `claim-${int(rng, 100, 999)}` } : { generateBucketName: 'claims' }) },
      };
      s3Names.push(storageName);
    } else {
      storages[storageName] = { local: { path: pick(rng, ['/var/lib/controlplane-backup', '/srv/etcd-backups', '/data/cpb']) } };
      localNames.push(storageName);
    }
  }
  const clusterNames = new Set<string>();
  const clusters: Record<string, any> = {};
  // One or two clusters: each valid inventory is synthesized, and rendering is most of the fuzz test's time.
  const clusterCount = int(rng, 1, 2);
  for (let i = 0; i < clusterCount; i++) {
    const clusterName = name(rng, clusterNames);
    const hosted = rng() < 0.4;
    const usable = hosted ? s3Names : [...s3Names, ...localNames];
    const chosen = [usable[0], ...usable.slice(1).filter(() => rng() < 0.5)];
    const cluster: Record<string, any> = hosted
      ? {
          hosted: {
            namespace: clusterName, statefulSet: `${clusterName}-etcd`, replicas: pick(rng, [1, 3]),
            clientEndpoint: `https://${clusterName}-etcd.${clusterName}.svc:2379`, clientCertSecret: { name: `${clusterName}-certs` },
            ...(rng() < 0.3 ? { dataDirInVolume: 'default.etcd' } : {}),
          },
        }
      : { kubeadm: { members: Array.from({ length: pick(rng, [1, 1, 3]) }, (_, m) => ({ name: `cp-${m}`, ip: `10.${i}.0.${m + 1}` })) } };
    cluster.backup = {
      storages: chosen,
      encryption: { recipients: [RECIPIENT] },
      ...(rng() < 0.5 ? { schedule: pick(rng, SCHEDULES) } : {}),
      ...(rng() < 0.3 ? { timeZone: pick(rng, ['Etc/UTC', 'Europe/Berlin', 'America/New_York']) } : {}),
      ...(rng() < 0.3 ? { retention: { keepLast: int(rng, 1, 50), maxAge: `${int(rng, 1, 90)}d` } } : {}),
      ...(rng() < 0.2 ? { compression: pick(rng, ['zstd', 'gzip', 'none']) } : {}),
      ...(rng() < 0.2 && !hosted ? { encryptionConfig: { hostPath: '/etc/kubernetes/enc/config.yaml' } } : {}),
      ...(rng() < 0.2 ? { drill: { enabled: true } } : {}),
    };
    if (rng() < 0.3) cluster.onDemandBackups = [{ name: 'before-upgrade' }];
    if (rng() < 0.3 && (hosted || !localNames.includes(chosen[0]) || cluster.kubeadm.members.length === 1)) {
      cluster.restores = [{ id: 'undo', snapshot: 'latest', confirm: clusterName }];
    }
    if (rng() < 0.2) cluster.labels = { team: 'platform' };
    clusters[clusterName] = cluster;
  }
  // There is no default tools image: a valid inventory names one.
  const defaults = { backup: { images: { tools: 'registry.example.com/platform/controlplane-backup-tools:0.1.0' } } };
  const document: Record<string, any> = { apiVersion: 'controlplane-backup.io/v1', kind: 'Inventory', storages, defaults, clusters };
  if (rng() < 0.2) document.gitops = { repoURL: 'https://git.example.com/fleet.git', argocd: {}, ...(rng() < 0.5 ? { flux: {} } : {}) };
  return document;
}

const HOSTILE_VALUES: unknown[] = [
  null, 0, -1, 1.5, 1e308, true, '', ' ', 'constructor', '__proto__', 'toString', '../x', '../../etc', '/', '/etc', '/var/lib/etcd',
  '/etc/shadow', 'a'.repeat(300), 'line\nbreak', 'ü', '😀', 'http://plain.example.com', 'age1xzcq5v8xm62cefatuwlqdcla6gp6pu7fw85q30nvf3xppuhtpgfsk9272q',
  'AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ', [], {}, [[[]]], { a: { b: { c: {} } } },
  'latest', 'other/other-20261120T020000Z.db.zst.age', 'x y/z', '${HOME}', '`id`', "'; rm -rf /", '0 2 * * *', '99999999999999999999',
];
const HOSTILE_KEYS = ['constructor', '__proto__', 'toString', 'prototype', 'argocd', 'flux', 'valueOf', 'hasOwnProperty', 'Prod', 'a..b', 'secretAccessKey'];

/** Every (parent, key) in the document, for mutations. */
function slots(document: unknown): [Record<string, any> | any[], string | number][] {
  const found: [Record<string, any> | any[], string | number][] = [];
  const walk = (node: unknown) => {
    if (Array.isArray(node)) node.forEach((item, i) => { found.push([node, i]); walk(item); });
    else if (node && typeof node === 'object') for (const key of Object.keys(node)) { found.push([node as Record<string, any>, key]); walk((node as Record<string, any>)[key]); }
  };
  walk(document);
  return found;
}

/** Mutates the document in place: 1 to 3 changes of values, keys or structure. */
function mutateDocument(rng: Rng, document: Record<string, any>): void {
  for (let n = int(rng, 1, 3); n > 0; n--) {
    const all = slots(document);
    if (all.length === 0) return;
    const [parent, key] = pick(rng, all);
    const action = rng();
    if (action < 0.3) {
      (parent as any)[key] = structuredClone(pick(rng, HOSTILE_VALUES));
    } else if (action < 0.5) {
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key as string];
    } else if (action < 0.75 && !Array.isArray(parent)) {
      const value = parent[key as string];
      delete parent[key as string];
      Object.defineProperty(parent, pick(rng, HOSTILE_KEYS), { value, enumerable: true, configurable: true, writable: true });
    } else if (action < 0.9) {
      const other = pick(rng, all);
      (parent as any)[key] = structuredClone((other[0] as any)[other[1]]);
    } else {
      (parent as any)[key] = { nested: [(parent as any)[key]] };
    }
  }
}

/** Text-level damage: what an editor, a merge or an attacker does to YAML. */
function mutateText(rng: Rng, text: string): string {
  const at = int(rng, 0, text.length);
  switch (int(rng, 0, 8)) {
    case 0: return text.slice(0, at);
    case 1: return text.slice(0, at) + pick(rng, [':', '-', '[', '{', '"', "'", '&a', '*a', '!!binary', '\t', '#', '|', '>', '%', '@', '`', '\u0000', '\ufeff']) + text.slice(at);
    case 2: {
      const lines = text.split('\n');
      const line = int(rng, 0, lines.length - 1);
      lines.splice(line, 0, lines[line]);
      return lines.join('\n');
    }
    case 3: return `${text}x-deep: ${'['.repeat(int(rng, 50, 3000))}${']'.repeat(int(rng, 0, 3000))}\n`;
    case 4: {
      let bomb = 'x-bomb:\n  a: &a [x, x, x, x, x, x, x, x, x]\n';
      for (const [n, p] of [['b', 'a'], ['c', 'b'], ['d', 'c'], ['e', 'd'], ['f', 'e']]) bomb += `  ${n}: &${n} [${Array(9).fill(`*${p}`).join(', ')}]\n`;
      return text + bomb;
    }
    case 5: return text.replace(/\n {2}(\w)/, '\n$1');
    case 6: return `${text}${text.slice(text.indexOf('clusters:'))}`;
    case 7: return text.replace(/storages:/g, 'storages: &s').replace(/\n$/, '\nextra: *s\n');
    default: return text.slice(0, at) + String.fromCharCode(int(rng, 0, 0x2fff)) + text.slice(at + 1);
  }
}

/**
 * The i-th inventory text of a seed: an eighth valid as generated, the rest mutated (some of those stay valid).
 * Each valid one is synthesized, which costs most of the test's time: hence the small share.
 */
export function inventoryText(seed: number, index: number): string {
  const rng = random(seed * 1_000_003 + index);
  const document = validDocument(rng);
  const kind = index % 8;
  if (kind < 1) return stringify(document);
  if (kind < 5) {
    mutateDocument(rng, document);
    return stringify(document);
  }
  return mutateText(rng, stringify(document));
}
