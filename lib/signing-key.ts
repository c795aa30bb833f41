/**
 * The format of a backup signing public key, one check for the inventory (which validates it with a position) and
 * the agent (which validates its plan): a leaf, because the agent's bundle never loads lib/inventory.
 */

/** The DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410): 12 bytes, then the 32-byte key. */
const ED25519_SPKI_PREFIX = '302a300506032b6570032100';

/**
 * A backup signing public key as the inventory takes it: the base64 of an Ed25519 SubjectPublicKeyInfo, the one line
 * `controlplane-backup keygen` and `openssl pkey -pubout` print (lib/storage/signature.ts signs and verifies).
 */
export function signingPublicKeyProblem(value: string): string | undefined {
  if (/PRIVATE KEY/.test(value) || value.startsWith('MC4CAQAw')) {
    return 'is a private key; put only the public key in the inventory (`controlplane-backup keygen` prints it, or `openssl pkey -in KEY -pubout`)';
  }
  if (value.includes('BEGIN PUBLIC KEY')) return 'is a PEM block; give only its base64 line (the one between BEGIN and END, "MCowBQYDK2VwAyEA...")';
  if (!/^[A-Za-z0-9+/]{59}=$/.test(value)) return 'is not an Ed25519 public key (the base64 line "MCowBQYDK2VwAyEA..." of 60 characters that `controlplane-backup keygen` prints)';
  if (!Buffer.from(value, 'base64').toString('hex').startsWith(ED25519_SPKI_PREFIX)) return 'is base64 but not an Ed25519 public key (one starts with "MCowBQYDK2VwAyEA")';
  return undefined;
}
