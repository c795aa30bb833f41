// Which set a restore resolves, and when it refuses one, with the cluster's signing key: `latest` is the newest
// signed set even when newer planted ones (forged with another key, or unsigned) are complete; a named planted set
// is exit 13 unless the request says allowUnsigned; without a key, every complete set counts as before.
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentError } from '../../lib/agent/exit-codes';
import { resolveSet } from '../../lib/agent/restore/backup-set';
import { formatSidecar, sha256, signSidecar } from '../../lib/storage';
import { LocalStore } from '../../lib/storage/store';

const CLUSTER_KEY = generateKeyPairSync('ed25519');
const ATTACKER_KEY = generateKeyPairSync('ed25519');
const PUBLIC_KEY = CLUSTER_KEY.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
const NOW = new Date('2026-03-01T12:00:00Z');
const SIGNED = 'prod-1-20260301T060000Z';
const UNSIGNED = 'prod-1-20260301T110000Z';
const FORGED = 'prod-1-20260301T120200Z'; // two minutes ahead: inside the clock skew

let dir: string;
let at: { store: LocalStore; cluster: string; folder: string };

function seed(base: string, key: 'cluster' | 'attacker' | 'none') {
  const folder = join(dir, 'prod-1');
  mkdirSync(folder, { recursive: true });
  const objects = [[`${base}.db`, 'snapshot'], [`${base}.meta.json`, '{}']];
  for (const [file, body] of objects) writeFileSync(join(folder, file), body);
  const sidecar = formatSidecar(objects.map(([file, body]) => ({ file, sha256: sha256(body), size: body.length })));
  if (key !== 'none') writeFileSync(join(folder, `${base}.sha256.sig`), signSidecar((key === 'cluster' ? CLUSTER_KEY : ATTACKER_KEY).privateKey, 'prod-1', base, sidecar));
  writeFileSync(join(folder, `${base}.sha256`), sidecar);
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cpb-backup-set-'));
  seed(SIGNED, 'cluster');
  seed(UNSIGNED, 'none');
  seed(FORGED, 'attacker');
  at = { store: new LocalStore(dir), cluster: 'prod-1', folder: 'prod-1' };
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const strict = (log: string[] = []) => ({ publicKey: PUBLIC_KEY, allowUnsigned: false, log: (m: string) => log.push(m) });

async function refusal(promise: Promise<unknown>): Promise<AgentError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(AgentError);
  return error as AgentError;
}

describe('resolveSet with a signing key', () => {
  it('takes the newest signed set as latest, past newer forged and unsigned ones', async () => {
    expect((await resolveSet(at, 'latest', NOW, undefined, strict())).name).toBe(SIGNED);
    // without a key (the inventory names none) the newest complete set is latest, as before signatures
    expect((await resolveSet(at, 'latest', NOW)).name).toBe(FORGED);
  });

  it('refuses a named forged or unsigned set with exit 13 and says how to proceed', async () => {
    const forged = await refusal(resolveSet(at, FORGED, NOW, undefined, strict()));
    expect(forged.code).toBe(13);
    expect(forged.message).toMatch(new RegExp(`^refusing ${FORGED}: it is forged: ${FORGED}\\.sha256\\.sig was made with key [0-9a-f]{16}, not the cluster's signing key [0-9a-f]{16}; `));
    const unsigned = await refusal(resolveSet(at, UNSIGNED, NOW, undefined, strict()));
    expect(unsigned.code).toBe(13);
    expect(unsigned.message).toBe(`refusing ${UNSIGNED}: it is unsigned: no signature ${UNSIGNED}.sha256.sig; it was not written by this cluster's backup (or before backup.signing was set). Restore a signed set, or, if you know where this one comes from, set \`allowUnsigned: true\` on the restore request`);
  });

  it('restores a named unsigned set with allowUnsigned, and says so in the log', async () => {
    const log: string[] = [];
    expect((await resolveSet(at, UNSIGNED, NOW, undefined, { ...strict(log), allowUnsigned: true })).name).toBe(UNSIGNED);
    expect(log).toEqual([`WARNING: restoring ${UNSIGNED} although it is unsigned: no signature ${UNSIGNED}.sha256.sig (the request says allowUnsigned: true)`]);
  });

  it('fails latest with exit 13 when no set is signed (the key was just set), naming the newest complete one', async () => {
    const other = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
    const error = await refusal(resolveSet(at, 'latest', NOW, undefined, { ...strict(), publicKey: other }));
    expect(error.code).toBe(13);
    expect(error.message).toMatch(new RegExp(`^no signed backup of prod-1 in .*/prod-1: the newest complete set ${FORGED} is forged: .*; "latest" is only ever a set signed with the cluster's signing key$`));
  });
});
