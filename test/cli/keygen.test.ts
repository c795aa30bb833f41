// `controlplane-backup keygen`: the Secret for `kubectl create -f -` on stdout (the private key goes nowhere else),
// the public key and the inventory lines on stderr; a key it makes signs sets that verify with the printed key.
import { createPrivateKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkSignature, formatSidecar, publicKeyOf, signSidecar, signingKeyId, signingPublicKeyProblem } from '../../lib/storage';
import { runCli as cli } from '../support/cli';

describe('keygen', () => {
  it('prints a Secret with a fresh Ed25519 key on stdout and its public key with the inventory lines on stderr', async () => {
    const { code, stdout, stderr } = await cli('keygen', '--cluster', 'prod-1');
    expect(code).toBe(0);
    const secret = JSON.parse(stdout);
    expect(secret).toMatchObject({
      apiVersion: 'v1', kind: 'Secret', type: 'Opaque',
      metadata: { name: 'prod-1-backup-signing', namespace: 'controlplane-backup' },
    });
    expect(Object.keys(secret.stringData)).toEqual(['signing-key.pem']);
    const key = createPrivateKey(secret.stringData['signing-key.pem']);
    expect(key.asymmetricKeyType).toBe('ed25519');
    const publicKey = publicKeyOf(key);
    expect(signingPublicKeyProblem(publicKey)).toBeUndefined();
    expect(stderr).toBe(`keygen: signing key ${signingKeyId(publicKey)} for prod-1: the Secret controlplane-backup/prod-1-backup-signing is on stdout (pipe it to \`kubectl create -f -\` in the cluster that runs its backups; keep no other copy).\n`
      + `Put the public key into the inventory:\n  clusters:\n    prod-1:\n      backup:\n        signing:\n          publicKey: ${publicKey}\n`);
    expect(stderr).not.toContain('PRIVATE KEY');
    const sidecar = formatSidecar([{ file: 'prod-1-20260301T000000Z.db', sha256: 'a'.repeat(64), size: 1 }]);
    expect(checkSignature(publicKey, 'prod-1', 'prod-1-20260301T000000Z', sidecar, signSidecar(key, 'prod-1', 'prod-1-20260301T000000Z', sidecar)).status).toBe('valid');
    // a new key each time
    expect(JSON.parse((await cli('keygen', '--cluster', 'prod-1')).stdout).stringData['signing-key.pem']).not.toBe(secret.stringData['signing-key.pem']);
  });

  it('takes the namespace and the Secret name, and says to set secretName', async () => {
    const { code, stdout, stderr } = await cli('keygen', '--cluster', 'tenant-a', '--namespace', 'tenant-a', '--secret', 'tenant-a-signing-2027');
    expect(code).toBe(0);
    expect(JSON.parse(stdout).metadata).toMatchObject({ name: 'tenant-a-signing-2027', namespace: 'tenant-a' });
    expect(stderr).toContain('\n          secretName: tenant-a-signing-2027\n');
  });

  it('fails with exit 2 on a bad command line', async () => {
    expect(await cli('keygen')).toMatchObject({ code: 2, stdout: '' });
    const bad = await cli('keygen', '--cluster', 'Prod_1');
    expect(bad).toMatchObject({ code: 2, stdout: '' });
    expect(bad.stderr).toBe('controlplane-backup: --cluster "Prod_1" must be a DNS-1123 label: lower-case letters, digits and "-", starting and ending with a letter or digit\n');
  });
});
