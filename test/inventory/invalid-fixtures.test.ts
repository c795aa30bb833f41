/**
 * One small inventory per validation rule in test/fixtures/invalid/ (each otherwise valid, so it yields exactly one
 * problem), with the exact text a user sees: `file:line:col: path: message`. A changed message, position or path
 * is a change users notice: update the table on purpose, never by copy-paste.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatProblem } from '../../lib/inventory/errors';
import { parseInventory } from '../../lib/inventory/load';
import { withToolsImage } from '../support/inventory';

const ROOT = join(__dirname, '..', '..');
const INVALID = join(ROOT, 'test', 'fixtures', 'invalid');
const VALID = join(ROOT, 'test', 'fixtures', 'valid');
/** Files named as a user would name them on the command line, relative to the repository. */
const fileOf = (dir: string, name: string) => relative(ROOT, join(dir, `${name}.yaml`));

function problemsOf(file: string): string[] {
  const result = parseInventory(readFileSync(join(ROOT, file), 'utf8'), file);
  return result.ok ? [] : result.problems.map(formatProblem);
}

/** [fixture, "line:col: path: message"] */
const CASES: readonly (readonly [string, string])[] = [
  ['absolute-path', `21:19: clusters.prod.backup.encryptionConfig.hostPath: "etc/kubernetes/enc.yaml" must be an absolute path`],
  ['age-recipient-checksum', `19:22: clusters.prod.backup.encryption.recipients[0]: "age1xzcq5v8xm62cefatuwlqdcla6gp6pu7fw85q30nvf3xppuhtpgfsk9272q" has a wrong checksum: a character was mistyped or lost; copy the recipient again (\`age-keygen -y\` prints it from the identity file)`],
  ['alias-count', `22:14: the aliases (*name) expand to more than 100 copies, the limit; write the repeated values out instead`],
  ['config-map-key', `8:48: storages.primary.s3.caBundle.key: "ca.crt\\nx" is not a key of a ConfigMap or Secret: use letters, digits, "-", "_" and "." only (e.g. "ca.crt")`],
  ['data-dir-in-volume', `19:24: clusters.tenant-a.hosted.dataDirInVolume: "../scratch" must be a relative path inside the volume without "." or ".." segments, such as "default.etcd"`],
  ['encryption-config-host-path-outside', `21:19: clusters.prod.backup.encryptionConfig.hostPath: "/etc/shadow" is outside /etc/kubernetes/; give the file that kube-apiserver's --encryption-provider-config names, kept under /etc/kubernetes/ (e.g. "/etc/kubernetes/enc/encryption-config.yaml")`],
  ['endpoint-plain-http', `6:17: storages.primary.s3.endpoint: "http://s3.example.com" has no TLS: the storage credentials would travel in clear; use https, or set \`insecure: true\` on this storage if the network path is trusted`],
  ['kubeadm-dir-system-directory', `16:16: clusters.prod.kubeadm.dataDir: "/var/lib" is a system directory: a restore replaces this folder; give etcd's --data-dir (e.g. "/var/lib/etcd")`],
  ['local-path-system-directory', `12:20: storages.node-local.local.path: "/etc/kubernetes/pki" is inside /etc, a system directory: the backups written there could overwrite the node's files; use a folder of their own, such as "/var/lib/controlplane-backup"`],
  ['nesting-depth', `21:73: the document nests lists and mappings more than 64 levels deep, the limit; an inventory needs fewer than 10`],
  ['proto-key', `12:3: clusters.__proto__: "__proto__" is reserved (a built-in property name of JavaScript objects); choose another name`],
  ['reserved-name', `12:3: clusters.constructor: "constructor" is reserved (a built-in property name of JavaScript objects); choose another name`],
  ['restore-snapshot-key-characters', `22:19: clusters.prod.restores[0].snapshot: "other cluster/other-20261120T020000Z.db.zst.age" is not a snapshot key; write "latest" or the object's key, e.g. "prod/prod-20260101T020000Z.db.zst.age"`],
  ['signing-public-key', `21:20: clusters.prod.backup.signing.publicKey: "MCowBQYDK2VwAyEAfleDl8dzPbPA7zReLgSIaJhEyrTJQKj9QiTEW" is not an Ed25519 public key (the base64 line "MCowBQYDK2VwAyEA..." of 60 characters that \`controlplane-backup keygen\` prints)`],
  ['signing-private-key', `21:20: clusters.prod.backup.signing.publicKey: the value (a private key, not repeated here) is a private key; put only the public key in the inventory (\`controlplane-backup keygen\` prints it, or \`openssl pkey -in KEY -pubout\`)`],
  ['signing-in-defaults', `22:5: defaults.backup.signing: a signing key belongs to one cluster (its private key lives only in that cluster): set \`backup.signing\` under each cluster, with its own key from \`controlplane-backup keygen\``],
  ['age-identity', `19:22: clusters.prod.backup.encryption.recipients[0]: "AGE-SECRET-KEY-..." (not repeated here) is an age identity (a private key); put only recipients (public keys, "age1...") in the inventory`],
  ['age-recipient', `19:22: clusters.prod.backup.encryption.recipients[0]: "age1notarecipient" is not an age recipient ("age1" followed by 58 bech32 characters, or an ssh-ed25519/ssh-rsa public key)`],
  ['api-version', `1:13: apiVersion: must be "controlplane-backup.io/v1"`],
  ['bucket-name-characters', `7:15: storages.primary.s3.bucket: "Etcd_Backups" may contain only lower-case letters, digits, "." and "-"`],
  ['bucket-name-ip-address', `7:15: storages.primary.s3.bucket: "192.168.10.20" must not be formatted as an IP address`],
  ['bucket-name-reserved-prefix', `7:15: storages.primary.s3.bucket: "xn--backups" must not start with the reserved prefix "xn--"`],
  ['bucket-name-reserved-suffix', `7:15: storages.primary.s3.bucket: "backups-s3alias" must not end with the reserved suffix "-s3alias"`],
  ['bucket-name-too-short', `7:15: storages.primary.s3.bucket: "ab" is 2 characters long; bucket names have 3 to 63`],
  ['cluster-name-dns-label', `12:3: clusters.Prod_EU: "Prod_EU" must be a DNS-1123 label: lower-case letters, digits and "-", starting and ending with a letter or digit`],
  ['cluster-name-reserved', `12:3: clusters.flux: cluster name "flux" is taken by the output folder dist/flux/ (GitOps wiring); "argocd" and "flux" cannot name clusters: rename it, e.g. "flux-1"`],
  ['cluster-name-too-long', `12:3: clusters.prod-eu-central-1-payments-platform-blue1: cluster name "prod-eu-central-1-payments-platform-blue1" is 41 characters long; at most 40 are allowed: its CronJob "prod-eu-central-1-payments-platform-blue1-etcd-backup" would have 53 characters, and CronJob names have at most 52`],
  ['cluster-topology-both', `20:5: clusters.prod.hosted: cluster "prod" needs exactly one of \`kubeadm\` or \`hosted\`; found both \`kubeadm\` and \`hosted\``],
  ['cluster-topology-missing', `13:5: clusters.prod: cluster "prod" needs exactly one of \`kubeadm\` or \`hosted\`; none is set`],
  ['compression', `20:20: clusters.prod.backup.compression: "lz4" is not allowed; use "zstd", "gzip" or "none"`],
  ['credentials-on-local', `13:5: storages.node-local.credentials: \`credentials\` goes with \`s3\`, \`gcs\` and \`azureBlob\` only: a local copy needs none`],
  ['credentials-two-sources', `11:7: storages.primary.credentials.externalSecret: credentials needs exactly one of \`existingSecret\`, \`externalSecret\`, \`sealedSecret\` or \`workloadIdentity\`; found both \`existingSecret\` and \`externalSecret\``],
  ['prune-credentials-on-local', `13:5: storages.node-local.pruneCredentials: \`pruneCredentials\` goes with \`s3\` only: a local copy needs none`],
  ['prune-credentials-two-sources', `13:7: storages.primary.pruneCredentials.externalSecret: pruneCredentials needs exactly one of \`existingSecret\`, \`externalSecret\` or \`sealedSecret\`; found both \`existingSecret\` and \`externalSecret\``],
  ['prune-credentials-workload-identity', `12:7: storages.primary.pruneCredentials.workloadIdentity: \`workloadIdentity\` is not allowed here: the prune CronJob (\`<cluster>-etcd-prune\`) runs as a ServiceAccount of its own that assumes no role; use existingSecret, externalSecret or sealedSecret with keys that may delete`],
  ['cron-backwards-range', `20:17: clusters.prod.backup.schedule: "0 2 * * fri-mon" is not a valid schedule: day-of-week field "fri-mon": range "fri-mon" runs backwards`],
  ['cron-bad-name', `20:17: clusters.prod.backup.schedule: "0 2 * * sunday" is not a valid schedule: day-of-week field "sunday": "sunday" is not a number or a name (sun..sat)`],
  ['cron-bad-step', `20:17: clusters.prod.backup.schedule: "*/0 * * * *" is not a valid schedule: minute field "*/0": a step of 0 never fires`],
  ['cron-field-count', `20:17: clusters.prod.backup.schedule: "0 0 2 * * *" is not a valid schedule: has 6 fields; a schedule has 5: minute hour day-of-month month day-of-week (e.g. "0 2 * * *")`],
  ['cron-out-of-range', `20:17: clusters.prod.backup.schedule: "0 24 * * *" is not a valid schedule: hour field "24": 24 is out of range 0-23`],
  ['cron-tz-in-schedule', `20:17: clusters.prod.backup.schedule: "CRON_TZ=Europe/Berlin 0 2 * * *" is not a valid schedule: set the time zone with \`timeZone\`, not inside the schedule`],
  ['cron-unknown-macro', `20:17: clusters.prod.backup.schedule: "@nightly" is not a valid schedule: unknown macro "@nightly"; use one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly or 5 fields`],
  ['duplicate-cluster-name', `20:3: duplicate key "prod": a key (a cluster or storage name too) may appear only once in a mapping`],
  ['duration', `21:17: clusters.prod.backup.retention.maxAge: "3 months" is not a duration; write a whole number with h, d or w (e.g. "36h", "30d", "8w")`],
  ['empty-storages', `17:17: clusters.prod.backup.storages: lists no storage; name at least one of \`storages\``],
  ['encryption-config-host-path-on-hosted', `24:9: clusters.tenant-a.backup.encryptionConfig.hostPath: \`hostPath\` is for kubeadm clusters; a hosted cluster has no host access`],
  ['encryption-config-hosted-without-secret', `23:25: clusters.tenant-a.backup.encryptionConfig: a hosted cluster reads the encryption config from a Secret: set \`secret\``],
  ['encryption-config-secret-on-kubeadm', `22:9: clusters.prod.backup.encryptionConfig.secret: \`secret\` is for hosted clusters; a kubeadm cluster uses \`hostPath\``],
  ['endpoint-credentials', `6:17: storages.primary.s3.endpoint: "https://***@s3.example.com" contains credentials; credentials never go into the inventory: use the storage's \`credentials\``],
  ['endpoint-not-a-url', `6:17: storages.primary.s3.endpoint: "s3.example.com" is not a URL; write it like https://s3.eu-central-1.amazonaws.com`],
  ['endpoint-path', `6:17: storages.primary.s3.endpoint: "https://s3.example.com/etcd-backups" must be scheme, host and port only (the bucket and prefix have their own fields)`],
  ['endpoint-scheme', `6:17: storages.primary.s3.endpoint: "ftp://s3.example.com" uses ftp; use http or https`],
  ['image-no-tag', `21:15: clusters.prod.backup.images.etcd: "registry.k8s.io/etcd" has neither a tag nor a digest; pin the image (":<tag>" or "@sha256:<digest>")`],
  ['ip-address', `15:29: clusters.prod.kubeadm.members[0].ip: "10.0.0.256" is not an IPv4 or IPv6 address`],
  ['kind', `2:7: kind: must be "Inventory"`],
  ['kms-key-id-with-aes256', `8:28: storages.primary.s3.sse.kmsKeyId: \`kmsKeyId\` goes with type "aws:kms" only; remove it or change the type`],
  ['kms-without-key-id', `8:12: storages.primary.s3.sse: type "aws:kms" needs \`kmsKeyId\` (the KMS key ARN or id)`],
  ['member-duplicate-ip', `17:29: clusters.prod.kubeadm.members[2].ip: "10.0.0.1" is also the ip of members[0]; every member needs its own`],
  ['member-duplicate-name', `16:19: clusters.prod.kubeadm.members[1].name: "cp-1" is also the name of members[0]; every member needs its own`],
  ['members-none', `14:16: clusters.prod.kubeadm.members: lists no member; list every control-plane node (1, 3 or 5)`],
  ['members-too-many', `15:9: clusters.prod.kubeadm.members: lists 8 members; etcd clusters have 1 to 7 (usually 1, 3 or 5)`],
  ['missing-required-key', `6:7: storages.primary.s3.bucket: is missing; expected a string`],
  ['no-storage', `13:5: clusters.prod: has no backup storage; set \`backup.storages\` here or in \`defaults.backup.storages\``],
  ['namespace-two-owners', `26:22: clusters.prod-b.gitops.argocdCluster: "prod-b" and "prod-a" both go to the Argo CD cluster "prod" with namespace "controlplane-backup": two clusters would own one Namespace there; give one of them another \`kubeadm.namespace\`, or point it at its own cluster`],
  ['not-a-mapping', `1:1: the inventory must be a mapping with apiVersion, kind, storages, defaults and clusters`],
  ['not-whole-number', `20:21: clusters.prod.backup.backoffLimit: found number 1.5; expected a whole number`],
  ['number-too-large', `20:30: clusters.prod.backup.activeDeadlineSeconds: 100000 is too large; the maximum is 86400`],
  ['object-bucket-claim-plain-http', `8:15: storages.primary.objectBucketClaim.scheme: "http" has no TLS: the storage credentials would travel in clear; use https, or set \`insecure: true\` on this storage if the network path is trusted`],
  ['object-bucket-claim-name', `13:7: storages.ceph.objectBucketClaim: set exactly one of \`bucketName\` (a fixed name) or \`generateBucketName\` (a prefix the provisioner completes)`],
  ['object-bucket-claim-port', `13:7: storages.ceph.objectBucketClaim: has no \`port\`, which the NetworkPolicy of the hosted cluster "tenant-a" needs (it allows egress to the storages' ports only): set \`port\` to the port of the provisioner's endpoint (BUCKET_PORT in the claim's ConfigMap; Rook's RGW: 80 for http, 443 for https)`],
  ['on-demand-duplicate-name', `22:15: clusters.prod.onDemandBackups[1].name: "before-upgrade" is requested twice; each on-demand backup needs its own name`],
  ['on-demand-job-name-too-long', `21:15: clusters.prod-eu-central-1.onDemandBackups[0].name: makes the Job name "prod-eu-central-1-backup-before-upgrade-to-kubernetes-1-29-and-etcd-3-5" 71 characters long; Job names have at most 63: shorten the request name`],
  ['owner-kind', `20:19: clusters.tenant-a.hosted.owners[0].kind: "Deployment" is not allowed; use "HelmRelease", "Kustomization", "Application" or "TenantControlPlane"`],
  ['owner-listed-twice', `21:11: clusters.tenant-a.hosted.owners[1]: HelmRelease "tenant-a" is listed twice (also at owners[0])`],
  ['pki-without-recipients', `13:5: clusters.prod: the PKI bundle holds the CA private keys and is only ever stored encrypted: add an age recipient to \`encryption.recipients\`, or set \`pki: false\``],
  ['prefix', `8:15: storages.primary.s3.prefix: "etcd//prod" must not contain empty, "." or ".." segments`],
  ['quantity', `20:24: clusters.prod.backup.minSnapshotSize: "1MB" is not a Kubernetes quantity (e.g. "100m", "512Mi", "2Gi")`],
  ['region', `8:15: storages.primary.s3.region: "EU Central 1" must be a region name such as "eu-central-1" or "us-east-1"`],
  ['sealed-secret-plaintext', `11:26: storages.primary.credentials.sealedSecret.secretAccessKey: the value (not repeated here) must be kubeseal ciphertext (it starts with "Ag"); never a plaintext key`],
  ['storage-listed-twice', `17:27: clusters.prod.backup.storages[1]: "primary" is listed twice`],
  ['storage-local-on-hosted', `22:27: clusters.tenant-a.backup.storages[1]: "node-local" is a local (node) storage; a hosted cluster has no node access: use an S3 storage`],
  ['storage-name-dns-label', `11:3: storages.Offsite: "Offsite" must be a DNS-1123 label: lower-case letters, digits and "-", starting and ending with a letter or digit`],
  ['storage-none-of-kinds', `11:12: storages.offsite: storage "offsite" needs exactly one of \`s3\`, \`gcs\`, \`azureBlob\`, \`objectBucketClaim\` or \`local\`; none is set`],
  ['restore-confirm-latest', `23:18: clusters.prod.restores[0].confirm: "latest" does not confirm this restore; type the cluster's name, "prod"`],
  ['restore-confirm-mismatch', `23:18: clusters.prod.restores[0].confirm: "prod-20261121T020000Z" does not confirm this restore; type the snapshot's name, "prod-20261120T020000Z"`],
  ['restore-cross-cluster', `22:19: clusters.prod.restores[0].snapshot: "other/other-20261120T020000Z.db.zst.age" is outside this cluster's backups ("prod/"); restoring another cluster's backup into "prod" needs \`allowCrossCluster: true\``],
  ['restore-duplicate-id', `22:15: clusters.prod.restores[1].id: "undo" is used by another restore of this cluster; each restore needs its own id`],
  ['restore-local-multi-member', `17:15: clusters.prod.restores[0].id: restores 3 members from "disk", a local (node) storage, but every member must restore the same snapshot: restore from an S3 storage`],
  ['restore-snapshot-key', `22:19: clusters.prod.restores[0].snapshot: "prod/backup.tar" is not a snapshot key; write "latest" or the object's key, e.g. "prod/prod-20260101T020000Z.db.zst.age"`],
  ['storage-reference-unknown-no-guess', `17:18: clusters.prod.backup.storages[0]: "offsite" is not a storage; defined storages are "primary"`],
  ['storage-reference-unknown', `17:18: clusters.prod.backup.storages[0]: "primray" is not a storage; did you mean "primary"?`],
  ['storage-s3-and-local', `8:5: storages.primary.local: storage "primary" needs exactly one of \`s3\`, \`gcs\`, \`azureBlob\`, \`objectBucketClaim\` or \`local\`; found both \`s3\` and \`local\``],
  ['storage-s3-without-credentials', `5:5: storages.primary: storage "primary" has no \`credentials\`; add existingSecret, externalSecret, sealedSecret or workloadIdentity`],
  ['time-zone-offset', `20:17: clusters.prod.backup.timeZone: "+01:00" is not an IANA time zone (for example "Etc/UTC" or "Europe/Berlin")`],
  ['time-zone', `20:17: clusters.prod.backup.timeZone: "America/New_Yrok" is not an IANA time zone; did you mean "America/New_York"?`],
  ['unknown-key-credential', `8:7: storages.primary.s3.secretAccessKey: unknown key "secretAccessKey"; credentials are never written into the inventory: reference them through a storage's \`credentials\` (existingSecret, externalSecret or sealedSecret)`],
  ['unknown-key-suggestion', `20:7: clusters.prod.backup.schedul: unknown key "schedul"; did you mean "schedule"?`],
  ['unknown-key-valid-keys', `8:28: storages.primary.s3.sse.algorithm: unknown key "algorithm"; valid keys here are "type" or "kmsKeyId"`],
  ['wrong-type', `20:31: clusters.prod.backup.snapshotTimeoutSeconds: found the string "300"; expected a number`],
  ['yaml-syntax', `18:7: Flow sequence in block collection must be sufficiently indented and end with a ]`],
  ['tools-image-missing', `13:5: defaults.backup.images.tools: is not set: the pods need the tools image, and there is no public default: build it with \`npm run image\`, push it with \`skopeo copy oci-archive:.tmp/image/controlplane-backup-tools.oci.tar docker://REGISTRY/controlplane-backup-tools:TAG\`, and set \`images.tools\` to it, preferably by digest (REGISTRY/controlplane-backup-tools@sha256:<digest printed by the build>)`],
  // gcs and azureBlob storages, and their credentials
  ['gcs-bucket-name-google', `6:15: storages.primary.gcs.bucket: "etcd-google-backups" must not contain "google" or a look-alike of it (reserved by Google)`],
  ['gcs-bucket-name-characters', `6:15: storages.primary.gcs.bucket: "Etcd-Backups" may contain only lower-case letters, digits, "-", "_" and "."`],
  ['azure-account-name', `6:16: storages.primary.azureBlob.account: "acme-backups" may contain only lower-case letters and digits (no "-" or ".")`],
  ['azure-container-name', `7:18: storages.primary.azureBlob.container: "etcd--backups" must not contain two adjacent "-"`],
  ['azure-endpoint-sas', `8:17: storages.primary.azureBlob.endpoint: "https://acmebackups.blob.core.windows.net/?***" contains credentials (userinfo or a query such as a SAS token); credentials never go into the inventory: use the storage's \`credentials\``],
  ['azure-endpoint-plain-http', `8:17: storages.primary.azureBlob.endpoint: "http://azurite.test.svc:10000/acmebackups" has no TLS: the storage credentials would travel in clear; use https, or set \`insecure: true\` on this storage if the network path is trusted`],
  ['workload-identity-wrong-provider', `10:9: storages.primary.credentials.workloadIdentity.gcp: \`gcp\` identities do not open azureBlob storage: use \`azure\``],
  ['workload-identity-gcp-on-kubeadm', `9:9: storages.primary.credentials.workloadIdentity.gcp: is used by the kubeadm cluster "prod", whose backup pods run on the host network, where GKE Workload Identity gives no credentials (it serves pods on GKE's pod network only): give those clusters a storage with a key Secret (existingSecret, externalSecret or sealedSecret with the service-account JSON)`],
  ['workload-identity-azure-client-id', `10:28: storages.primary.credentials.workloadIdentity.azure.clientId: "etcd-backup" must be a client id (a GUID such as "00000000-0000-0000-0000-000000000000")`],
  ['workload-identity-gcp-service-account', `9:32: storages.primary.credentials.workloadIdentity.gcp.serviceAccount: "etcd-backup@acme-prod" must be a Google service account email such as "etcd-backup@my-project.iam.gserviceaccount.com"`],
  ['sealed-secret-wrong-field', `9:9: storages.primary.credentials.sealedSecret.accessKeyId: \`accessKeyId\` does not go with a \`gcs\` storage; seal \`serviceAccountKey\` instead`],
  ['sealed-secret-missing-field', `9:21: storages.primary.credentials.sealedSecret: an \`azureBlob\` storage needs \`connectionString\` (encrypted with \`kubeseal --raw\`)`],
  ['existing-secret-key-on-s3', `9:47: storages.primary.credentials.existingSecret.key: \`key\` goes with \`gcs\` and \`azureBlob\` storages; an s3 Secret is read through \`accessKeyIdKey\` and \`secretAccessKeyKey\``],
];

describe('invalid fixtures: one per rule, exact formatted problem', () => {
  it.each(CASES)('%s', (name, expected) => {
    const file = fileOf(INVALID, name);
    expect(problemsOf(file)).toEqual([`${file}:${expected}`]);
  });

  it('every fixture in test/fixtures/invalid has a row (dozen-mistakes has its own test)', () => {
    const fixtures = readdirSync(INVALID).filter((f) => f.endsWith('.yaml') && f !== 'dozen-mistakes.yaml').map((f) => f.replace(/\.yaml$/, ''));
    expect(fixtures.sort()).toEqual(CASES.map(([name]) => name).sort());
  });
});

describe('valid fixtures (the base the invalid ones were cut from)', () => {
  const valid = readdirSync(VALID).filter((f) => f.endsWith('.yaml')).map((f) => f.replace(/\.yaml$/, ''));

  it('there are valid fixtures', () => expect(valid).toEqual(expect.arrayContaining(['minimal', 'hosted-and-claims'])));

  it.each(valid)('%s has no problem', (name) => {
    expect(problemsOf(fileOf(VALID, name))).toEqual([]);
  });

  it('the example inventory has no problem', () => {
    expect(problemsOf('examples/inventory.yaml')).toEqual([]);
  });
});

/** Regressions: problems found (and fixed) in lib/inventory while these tests were written. */
describe('regressions in lib/inventory', () => {
  const R = 'age1xzcq5v8xm62cefatuwlqdcla6gp6pu7fw85q30nvf3xppuhtpgfsk9272a';
  const HEAD = `apiVersion: controlplane-backup.io/v1
kind: Inventory
storages:
  primary:
    s3: { endpoint: "https://s3.example.com", bucket: etcd-backups }
    credentials: { existingSecret: { name: s3-credentials } }
  node-local:
    local: { path: /var/lib/controlplane-backup }
`;
  const lines = (text: string) => {
    const result = parseInventory(withToolsImage(text), 'inventory.yaml');
    return result.ok ? [] : result.problems.map(formatProblem);
  };
  const hosted = (name: string) =>
    `  ${name}: { hosted: { namespace: ${name}, statefulSet: etcd, replicas: 1, clientEndpoint: "https://etcd.${name}.svc:2379", clientCertSecret: { name: certs } } }\n`;

  it('a rule about an inherited default is reported once, not once per cluster', () => {
    const text = `${HEAD}defaults:\n  backup:\n    storages: [primray]\n    encryption: { recipients: [${R}] }\nclusters:\n`
      + '  a: { kubeadm: { members: [{ name: cp, ip: 10.0.0.1 }] } }\n  b: { kubeadm: { members: [{ name: cp, ip: 10.0.0.2 }] } }\n';
    expect(lines(text)).toEqual(['inventory.yaml:11:16: defaults.backup.storages[0]: "primray" is not a storage; did you mean "primary"?']);
  });

  it('a local storage inherited by hosted clusters names each cluster', () => {
    const text = `${HEAD}defaults:\n  backup:\n    storages: [primary, node-local]\n    encryption: { recipients: [${R}] }\nclusters:\n${hosted('t1')}${hosted('t2')}`;
    expect(lines(text)).toEqual([
      'inventory.yaml:11:25: defaults.backup.storages[1]: "node-local" is a local (node) storage; the hosted cluster "t1" has no node access: use an S3 storage',
      'inventory.yaml:11:25: defaults.backup.storages[1]: "node-local" is a local (node) storage; the hosted cluster "t2" has no node access: use an S3 storage',
    ]);
  });

  it('with a duplicate key, a problem of the entry that counts points at that entry, not at the first one', () => {
    const text = `${HEAD}defaults:\n  backup:\n    storages: [primary]\n    encryption: { recipients: [${R}] }\nclusters:\n`
      + '  a:\n    kubeadm: { members: [{ name: cp, ip: 10.0.0.1 }] }\n  a:\n    kubeadm: { members: [{ name: cp, ip: 10.0.0.999 }] }\n';
    expect(lines(text)).toEqual([
      'inventory.yaml:17:3: duplicate key "a": a key (a cluster or storage name too) may appear only once in a mapping',
      'inventory.yaml:18:42: clusters.a.kubeadm.members[0].ip: "10.0.0.999" is not an IPv4 or IPv6 address',
    ]);
  });

  it('the first of two duplicate entries is validated too (a plaintext credential in it is reported)', () => {
    const text = `${HEAD}  offsite:\n    s3: { endpoint: "https://minio.example.com", bucket: backups, secretAccessKey: hunter2 }\n`
      + `    credentials: { existingSecret: { name: minio } }\n  offsite:\n    local: { path: /srv }\n`
      + `clusters:\n  a:\n    kubeadm: { members: [{ name: cp, ip: 10.0.0.1 }] }\n    backup: { storages: [primary], encryption: { recipients: [${R}] } }\n`;
    expect(lines(text)).toEqual([
      'inventory.yaml:10:67: storages.offsite.s3.secretAccessKey: unknown key "secretAccessKey"; credentials are never written into the inventory: reference them through a storage\'s `credentials` (existingSecret, externalSecret or sealedSecret)',
      'inventory.yaml:12:3: duplicate key "offsite": a key (a cluster or storage name too) may appear only once in a mapping',
    ]);
  });

  it('a cluster without a tools image, beside one that names its own, is named itself', () => {
    const text = `${HEAD}defaults:\n  backup:\n    storages: [primary]\n    encryption: { recipients: [${R}] }\nclusters:\n`
      + '  a: { kubeadm: { members: [{ name: cp, ip: 10.0.0.1 }] }, backup: { images: { tools: "registry.example.com/tools:1" } } }\n  b: { kubeadm: { members: [{ name: cp, ip: 10.0.0.2 }] } }\n';
    const result = parseInventory(text, 'inventory.yaml');
    expect(result.ok ? [] : result.problems.map(formatProblem)).toEqual([
      `inventory.yaml:15:6: clusters.b.backup.images.tools: is not set here or in \`defaults.backup.images.tools\`: the pods need the tools image, and there is no public default: build it with \`npm run image\`, push it with \`skopeo copy oci-archive:.tmp/image/controlplane-backup-tools.oci.tar docker://REGISTRY/controlplane-backup-tools:TAG\`, and set \`images.tools\` to it, preferably by digest (REGISTRY/controlplane-backup-tools@sha256:<digest printed by the build>)`,
    ]);
  });

  it('a quoted duplicate key is named without its quotes', () => {
    const text = `${HEAD}clusters:\n  "a":\n    kubeadm: { members: [{ name: cp, ip: 10.0.0.1 }] }\n    backup: { storages: [primary], encryption: { recipients: [${R}] } }\n`
      + `  "a":\n    kubeadm: { members: [{ name: cp, ip: 10.0.0.1 }] }\n    backup: { storages: [primary], encryption: { recipients: [${R}] } }\n`;
    expect(lines(text)).toEqual(['inventory.yaml:13:3: duplicate key "a": a key (a cluster or storage name too) may appear only once in a mapping']);
  });

  // Problems are printed into CI logs: a secret written into the inventory by mistake must not be printed again.
  it.each([
    ['endpoint-credentials', 'wJalrXUtnFEMI'],
    ['sealed-secret-plaintext', 'wJalrXUtnFEMI'],
    ['age-identity', 'GFPYYSJZ'],
  ])('%s: the message does not repeat the secret', (name, secret) => {
    const problems = problemsOf(fileOf(INVALID, name));
    expect(problems).toHaveLength(1);
    expect(problems[0]).not.toContain(secret);
  });

  it('a credential-looking key is never "corrected" into a field that then takes the plaintext secret', () => {
    const text = HEAD.replace('{ existingSecret: { name: s3-credentials } }', '{ existingSecret: { name: s3-credentials, secretAccessKey: hunter2 } }')
      + `clusters:\n  a:\n    kubeadm: { members: [{ name: cp, ip: 10.0.0.1 }] }\n    backup: { storages: [primary], encryption: { recipients: [${R}] } }\n`;
    expect(lines(text)).toEqual([
      'inventory.yaml:6:60: storages.primary.credentials.existingSecret.secretAccessKey: unknown key "secretAccessKey"; credentials are never written into the inventory: reference them through a storage\'s `credentials` (existingSecret, externalSecret or sealedSecret); if you meant the name of a key in a Secret, that is "secretAccessKeyKey"',
    ]);
  });

  it('a too long cluster name is explained by the CronJob name that breaks the limit', () => {
    expect(problemsOf(fileOf(INVALID, 'cluster-name-too-long'))).toEqual([
      'test/fixtures/invalid/cluster-name-too-long.yaml:12:3: clusters.prod-eu-central-1-payments-platform-blue1: cluster name "prod-eu-central-1-payments-platform-blue1" is 41 characters long; at most 40 are allowed: its CronJob "prod-eu-central-1-payments-platform-blue1-etcd-backup" would have 53 characters, and CronJob names have at most 52',
    ]);
  });

  it('one mistake, one message: a hosted cluster with only `hostPath`', () => {
    const text = `${HEAD}clusters:\n  t1:\n    hosted: { namespace: t1, statefulSet: etcd, replicas: 1, clientEndpoint: "https://etcd.t1.svc:2379", clientCertSecret: { name: certs } }\n`
      + `    backup:\n      storages: [primary]\n      encryption: { recipients: [${R}] }\n      encryptionConfig:\n        hostPath: /etc/kubernetes/enc.yaml\n`;
    expect(lines(text)).toEqual([
      'inventory.yaml:16:9: clusters.t1.backup.encryptionConfig.hostPath: `hostPath` is for kubeadm clusters; a hosted cluster has no host access: set `secret` instead',
    ]);
  });
});
