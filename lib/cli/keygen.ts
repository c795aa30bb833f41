/**
 * `controlplane-backup keygen`: a new backup signing key for one cluster. The private key goes only to stdout, as a
 * Secret manifest for `kubectl create -f -` in the backup's cluster (it is never written to a file or into git); the
 * public key goes to stderr with the inventory lines that name it.
 */
import { generateKeyPairSync } from 'node:crypto';
import { signingSecretName } from '../plan/names';
import { signingKeyId } from '../storage/signature';
import { SIGNING_KEY } from '../plan/backup';
import { INVENTORY_DEFAULTS } from '../inventory/defaults';
import { dnsLabelProblem, dnsSubdomainProblem } from '../inventory/formats';
import { EXIT, type Io } from './io';

export interface KeygenOptions {
  readonly cluster: string;
  /** The backup's namespace in the cluster. @default INVENTORY_DEFAULTS.namespace (kubeadm) */
  readonly namespace?: string;
  /** @default `<cluster>-backup-signing` */
  readonly secretName?: string;
}

export function keygen(options: KeygenOptions, io: Io): number {
  const namespace = options.namespace ?? INVENTORY_DEFAULTS.namespace;
  const secretName = options.secretName ?? signingSecretName(options.cluster);
  const problem = [
    ['--cluster', options.cluster, dnsLabelProblem(options.cluster)],
    ['--namespace', namespace, dnsLabelProblem(namespace)],
    ['--secret', secretName, dnsSubdomainProblem(secretName)],
  ].find(([, , found]) => found);
  if (problem) {
    io.err(`controlplane-backup: ${problem[0]} ${JSON.stringify(problem[1])} ${problem[2]}\n`);
    return EXIT.invalid;
  }
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const spki = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  const secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: secretName, namespace, labels: { 'app.kubernetes.io/name': 'controlplane-backup', 'app.kubernetes.io/component': 'signing-key' } },
    type: 'Opaque',
    stringData: { [SIGNING_KEY]: pem },
  };
  io.out(`${JSON.stringify(secret, null, 2)}\n`);
  const secretLine = secretName === signingSecretName(options.cluster) ? '' : `\n          secretName: ${secretName}`;
  io.err(`keygen: signing key ${signingKeyId(spki)} for ${options.cluster}: the Secret ${namespace}/${secretName} is on stdout (pipe it to \`kubectl create -f -\` in the cluster that runs its backups; keep no other copy).\n`
    + `Put the public key into the inventory:\n  clusters:\n    ${options.cluster}:\n      backup:\n        signing:\n          publicKey: ${spki}${secretLine}\n`);
  return EXIT.ok;
}
