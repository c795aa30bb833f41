/**
 * Authenticity of a backup set: an Ed25519 signature (RFC 8032, through node:crypto, so no new dependency and no new
 * package in the tools image) over the set's checksum sidecar, stored as `<name>.sha256.sig`. The sidecar binds the
 * sha256 and size of every object of the set (snapshot, PKI bundle, metadata), so verifying the sidecar's signature
 * and then each downloaded object's digest against the sidecar authenticates the whole set.
 *
 * The signed message is unambiguous: a context string, the cluster and the sidecar's file name (which carries the set's
 * time stamp), each ended by a NUL byte (none of them can contain one), then the sidecar's bytes. A signature made
 * for one cluster, one set or another purpose never verifies for another. The folder (a storage's prefix) is left out
 * on purpose: a bucket mirrored under another prefix still verifies, and only genuine sets of the same cluster can be
 * moved that way.
 *
 * Keys: the public key is the base64 of its SubjectPublicKeyInfo (DER), the one line that `openssl pkey -pubout` and
 * `controlplane-backup keygen` print; the private key is a PKCS#8 PEM (`openssl genpkey -algorithm ed25519`), kept in
 * a Secret of the backup's own cluster.
 */
import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { signingPublicKeyProblem } from '../signing-key';
import { SUFFIX } from './layout';

/** Versioned context: a signature of this format is never valid for any other message the project may sign. */
const CONTEXT = 'controlplane-backup backup-set signature v1';
const SIGNATURE_LINE = /^controlplane-backup-signature v1 ed25519 ([0-9a-f]{16}) ([A-Za-z0-9+/]{86}==)$/;

/** The one check of a public key's format (lib/signing-key.ts), shared with the inventory. */
export { signingPublicKeyProblem };

/** The public key object of a validated key string; throws on a bad one (validation comes first everywhere). */
export function publicKeyObject(publicKey: string): KeyObject {
  const problem = signingPublicKeyProblem(publicKey);
  if (problem) throw new Error(`signing public key ${JSON.stringify(publicKey.slice(0, 60))} ${problem}`);
  return createPublicKey({ key: Buffer.from(publicKey, 'base64'), format: 'der', type: 'spki' });
}

/** The short id of a public key (first 16 hex digits of the sha256 of its DER): names the key in messages. */
export function signingKeyId(publicKey: string): string {
  return createHash('sha256').update(Buffer.from(publicKey, 'base64')).digest('hex').slice(0, 16);
}

/** The exact bytes signed for a set's sidecar. */
export function signedMessage(cluster: string, setName: string, sidecar: Buffer | string): Buffer {
  return Buffer.concat([Buffer.from(`${CONTEXT}\0${cluster}\0${setName}${SUFFIX.sidecar}\0`, 'utf8'), Buffer.from(sidecar)]);
}

/** A private key from its PKCS#8 PEM; the error never repeats the key. */
export function privateKeyObject(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch (error) {
    throw new Error(`not a PEM private key (${(error as Error).message.replace(/\s+/g, ' ').slice(0, 80)})`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`is a ${key.asymmetricKeyType} key; the signing key must be Ed25519 (\`controlplane-backup keygen\`)`);
  return key;
}

/** The public key string (SPKI base64) of a private key. */
export function publicKeyOf(privateKey: KeyObject): string {
  return createPublicKey(privateKey).export({ type: 'spki', format: 'der' }).toString('base64');
}

/** The text of `<name>.sha256.sig` for a set's sidecar. */
export function signSidecar(privateKey: KeyObject, cluster: string, setName: string, sidecar: Buffer | string): string {
  const signature = sign(null, signedMessage(cluster, setName, sidecar), privateKey).toString('base64');
  return `controlplane-backup-signature v1 ed25519 ${signingKeyId(publicKeyOf(privateKey))} ${signature}\n`;
}

/** What a set's signature says. `not-checked`: the cluster has no signing key in the inventory. */
export type SignatureStatus = 'valid' | 'unsigned' | 'invalid' | 'unreadable' | 'not-checked';

export interface SignatureCheck {
  readonly status: SignatureStatus;
  /** Why the set is not trusted (null when valid or not checked). */
  readonly problem: string | null;
}

/**
 * Verifies a set's sidecar against its signature text (undefined: no signature object; `{error}`: it could not be
 * read) and the cluster's public key. Never throws.
 */
export function checkSignature(publicKey: string, cluster: string, setName: string, sidecar: Buffer | string, signature: string | { error: string } | undefined): SignatureCheck {
  const file = `${setName}${SUFFIX.signature}`;
  if (signature === undefined) return { status: 'unsigned', problem: `unsigned: no signature ${file}` };
  if (typeof signature === 'object') return { status: 'unreadable', problem: `signature ${file} could not be read: ${signature.error}` };
  const line = SIGNATURE_LINE.exec(signature.replace(/\r?\n$/, ''));
  if (!line) return { status: 'invalid', problem: `forged or damaged: ${file} is not a controlplane-backup signature` };
  const expected = signingKeyId(publicKey);
  if (line[1] !== expected) {
    return { status: 'invalid', problem: `forged: ${file} was made with key ${line[1]}, not the cluster's signing key ${expected}` };
  }
  const ok = verify(null, signedMessage(cluster, setName, sidecar), publicKeyObject(publicKey), Buffer.from(line[2], 'base64'));
  return ok ? { status: 'valid', problem: null } : { status: 'invalid', problem: `forged: ${file} does not verify against the cluster's signing key ${expected} for this sidecar` };
}
