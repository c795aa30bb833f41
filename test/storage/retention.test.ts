// Retention, "latest" and completeness over listings: examples for each rule, then properties over random listings
// and random clocks (fast-check): no foreign key is ever deleted, the newest complete set and future sets survive,
// maxAge never goes below keepLast (or one), a run behind the clock deletes nothing.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  assessSet, decideRetention, formatSidecar, formatStamp, futureSets, groupFolder, isFuture, latestComplete, signSidecar,
  type AssessedSet, type RetentionPolicy, type StoredObject,
} from '../../lib/storage';
import { generateKeyPairSync } from 'node:crypto';

const CLUSTER = 'prod-1';
const FOLDER = 'etcd/prod-1';
const HOUR = 3_600_000;
const NONE: RetentionPolicy = { keepLast: 0, maxAgeHours: 0, hourly: 0, daily: 0, weekly: 0, monthly: 0 };
const DIGEST = 'a'.repeat(64);

type Shape = 'complete' | 'no-sidecar' | 'lone-sidecar' | 'wrong-size' | 'garbage-sidecar' | 'unreadable-sidecar' | 'no-pki'
  | 'unsigned' | 'forged';

/** The cluster's signing key, and an attacker's: only the storage credential, not the cluster's private key. */
const CLUSTER_KEY = generateKeyPairSync('ed25519');
const ATTACKER_KEY = generateKeyPairSync('ed25519');
const PUBLIC_KEY = CLUSTER_KEY.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');

/**
 * The objects of one set of the given shape, its sidecar text (undefined: could not be read) and its signature
 * (every shape is signed with the cluster's key but `unsigned`, and `forged`, which the attacker's key signs).
 */
function setObjects(date: Date, shape: Shape): { objects: StoredObject[]; sidecar?: string; signature?: string } {
  const built = unsignedSetObjects(date, shape);
  if (shape === 'unsigned' || built.sidecar === undefined) return built;
  const name = `${CLUSTER}-${formatStamp(date)}`;
  const signature = signSidecar(shape === 'forged' ? ATTACKER_KEY.privateKey : CLUSTER_KEY.privateKey, CLUSTER, name, built.sidecar);
  return { ...built, objects: [...built.objects, { key: `${FOLDER}/${name}.sha256.sig`, size: signature.length }], signature };
}

function unsignedSetObjects(date: Date, shape: Shape): { objects: StoredObject[]; sidecar?: string } {
  const name = `${CLUSTER}-${formatStamp(date)}`;
  const files = [
    { file: `${name}.db.zst.age`, size: 1000 },
    ...(shape === 'no-pki' ? [] : [{ file: `${name}.pki.tar.zst.age`, size: 200 }]),
    { file: `${name}.meta.json`, size: 100 },
  ];
  const sidecar = formatSidecar(files.map((f) => ({ file: f.file, sha256: DIGEST, size: f.size })));
  const key = (file: string) => `${FOLDER}/${file}`;
  const listed = files.map((f) => ({ key: key(f.file), size: shape === 'wrong-size' && f.file.endsWith('.db.zst.age') ? 999 : f.size }));
  switch (shape) {
    case 'no-sidecar': return { objects: listed };
    case 'lone-sidecar': return { objects: [{ key: key(`${name}.sha256`), size: sidecar.length }], sidecar };
    case 'garbage-sidecar': return { objects: [...listed, { key: key(`${name}.sha256`), size: 3 }], sidecar: 'xyz' };
    case 'unreadable-sidecar': return { objects: [...listed, { key: key(`${name}.sha256`), size: sidecar.length }], sidecar: undefined };
    default: return { objects: [...listed, { key: key(`${name}.sha256`), size: sidecar.length }], sidecar };
  }
}

const FOREIGN: StoredObject[] = [
  { key: `${FOLDER}/notes.txt`, size: 5 },
  { key: `${FOLDER}/prod-1-latest.db`, size: 5 },
  { key: `${FOLDER}/restores/x/prod-1-20200101T000000Z.db`, size: 5 },
  { key: `${FOLDER}/prod-10-20200101T000000Z.db`, size: 5 },
  { key: `${FOLDER}/prod-1-20200230T000000Z.sha256`, size: 5 },
];

/**
 * Groups and assesses a listing built from (date, shape) pairs plus foreign keys; with `publicKey`, signatures are
 * checked against it.
 */
function listing(entries: readonly { date: Date; shape: Shape }[], expectPki?: boolean, publicKey?: string): { sets: AssessedSet[]; keys: StoredObject[] } {
  const texts = new Map<string, string | undefined>();
  const signatures = new Map<string, string | undefined>();
  const objects: StoredObject[] = [...FOREIGN];
  const seen = new Set<string>();
  for (const { date, shape } of entries) {
    const stamp = formatStamp(date);
    if (seen.has(stamp)) continue;
    seen.add(stamp);
    const built = setObjects(date, shape);
    objects.push(...built.objects);
    texts.set(`${CLUSTER}-${stamp}`, built.sidecar);
    signatures.set(`${CLUSTER}-${stamp}`, built.signature);
  }
  const { sets } = groupFolder(CLUSTER, FOLDER, objects);
  return { sets: sets.map((set) => assessSet(set, texts.get(set.name), { expectPki, publicKey }, undefined, signatures.get(set.name))), keys: objects };
}

const at = (iso: string) => new Date(iso);

describe('completeness', () => {
  it('counts a set complete only when the objects its sidecar names are there with their sizes', () => {
    const now = at('2026-03-01T12:00:00Z');
    const shapes: Shape[] = ['complete', 'no-sidecar', 'lone-sidecar', 'wrong-size', 'garbage-sidecar', 'unreadable-sidecar', 'no-pki'];
    const { sets } = listing(shapes.map((shape, i) => ({ date: new Date(now.getTime() - (i + 1) * HOUR), shape })), true);
    expect(sets.map((set) => [set.complete, set.undetermined, set.problems])).toEqual([
      [true, false, []],
      [false, false, ['no checksum sidecar prod-1-20260301T100000Z.sha256']],
      [false, false, ['prod-1-20260301T090000Z.db.zst.age is missing', 'prod-1-20260301T090000Z.pki.tar.zst.age is missing', 'prod-1-20260301T090000Z.meta.json is missing']],
      [false, false, ['prod-1-20260301T080000Z.db.zst.age is 999 bytes, the sidecar says 1000']],
      [false, false, ['sidecar prod-1-20260301T070000Z.sha256 is unreadable: line 1 is not "<sha256>  <file>": "xyz"']],
      [false, true, ['sidecar prod-1-20260301T060000Z.sha256 could not be read']],
      [false, false, ['sidecar names no PKI bundle']],
    ]);
  });

  it('accepts a set without PKI bundle when none is expected, and a legacy sidecar without sizes', () => {
    const { sets } = listing([{ date: at('2026-03-01T00:00:00Z'), shape: 'no-pki' }]);
    expect(sets[0].complete).toBe(true);
    const [legacy] = groupFolder('a', '', [
      { key: 'a-20260101T000000Z.db', size: 10 }, { key: 'a-20260101T000000Z.meta.json', size: 3 }, { key: 'a-20260101T000000Z.sha256', size: 9 },
    ]).sets;
    const text = `${DIGEST}  a-20260101T000000Z.db\n${DIGEST}  a-20260101T000000Z.meta.json\n`;
    expect(assessSet(legacy, text).complete).toBe(true);
    expect(assessSet(legacy, `${DIGEST}  ../../etc/passwd\n`).problems).toEqual([`sidecar a-20260101T000000Z.sha256 is unreadable: line 1 is not "<sha256>  <file>": "${DIGEST}  ../../etc/passwd"`]);
    expect(assessSet(legacy, `${DIGEST}  b-20260101T000000Z.db\n${DIGEST}  a-20260101T000000Z.db\n${DIGEST}  a-20260101T000000Z.meta.json\n`).problems)
      .toEqual(['sidecar names b-20260101T000000Z.db, which is not an object of a-20260101T000000Z']);
  });
});

describe('latest and the future', () => {
  it('never takes a set dated beyond the skew as latest, and reports it', () => {
    const now = at('2026-03-01T12:00:00Z');
    const { sets } = listing([
      { date: at('2027-03-01T12:00:00Z'), shape: 'complete' },
      { date: at('2026-03-01T12:04:00Z'), shape: 'complete' }, // within the 5-minute skew
      { date: at('2026-03-01T06:00:00Z'), shape: 'complete' },
    ]);
    expect(latestComplete(sets, now)?.name).toBe('prod-1-20260301T120400Z');
    expect(futureSets(sets, now).map((set) => set.name)).toEqual(['prod-1-20270301T120000Z']);
    expect(latestComplete(sets, now, 0)?.name).toBe('prod-1-20260301T060000Z');
  });
});

describe('authenticity (the cluster has a signing key)', () => {
  const now = at('2026-03-10T12:00:00Z');

  it('never takes an unsigned or forged set as latest, even a newer one: the newest signed set is', () => {
    const { sets } = listing([
      { date: at('2026-03-10T11:50:00Z'), shape: 'forged' },
      { date: at('2026-03-10T11:40:00Z'), shape: 'unsigned' },
      { date: at('2026-03-10T06:00:00Z'), shape: 'complete' },
    ], undefined, PUBLIC_KEY);
    expect(latestComplete(sets, now)?.name).toBe('prod-1-20260310T060000Z');
    const byName = new Map(sets.map((set) => [set.name, set]));
    expect(byName.get('prod-1-20260310T115000Z')).toMatchObject({ complete: true, trusted: false, signature: 'invalid' });
    expect(byName.get('prod-1-20260310T115000Z')!.signatureProblem).toMatch(/^forged: prod-1-20260310T115000Z\.sha256\.sig was made with key [0-9a-f]{16}, not the cluster's signing key [0-9a-f]{16}$/);
    expect(byName.get('prod-1-20260310T114000Z')).toMatchObject({ trusted: false, signature: 'unsigned', signatureProblem: 'unsigned: no signature prod-1-20260310T114000Z.sha256.sig' });
    // without a key (the inventory names none) every complete set counts, as before signatures
    expect(latestComplete(listing([{ date: at('2026-03-10T11:40:00Z'), shape: 'unsigned' }]).sets, now)?.name).toBe('prod-1-20260310T114000Z');
  });

  it('refuses a signature replayed from another set, another cluster or an altered sidecar', async () => {
    const { checkSignature, signSidecar: sign } = await import('../../lib/storage');
    const sidecar = formatSidecar([{ file: 'prod-1-20260310T060000Z.db', sha256: DIGEST, size: 1 }]);
    const genuine = sign(CLUSTER_KEY.privateKey, 'prod-1', 'prod-1-20260310T060000Z', sidecar);
    expect(checkSignature(PUBLIC_KEY, 'prod-1', 'prod-1-20260310T060000Z', sidecar, genuine).status).toBe('valid');
    expect(checkSignature(PUBLIC_KEY, 'prod-1', 'prod-1-20270310T060000Z', sidecar, genuine).status).toBe('invalid');
    expect(checkSignature(PUBLIC_KEY, 'prod-2', 'prod-1-20260310T060000Z', sidecar, genuine).status).toBe('invalid');
    expect(checkSignature(PUBLIC_KEY, 'prod-1', 'prod-1-20260310T060000Z', sidecar.replace(DIGEST, 'b'.repeat(64)), genuine)).toEqual({
      status: 'invalid', problem: expect.stringMatching(/^forged: prod-1-20260310T060000Z\.sha256\.sig does not verify against the cluster's signing key [0-9a-f]{16} for this sidecar$/),
    });
    expect(checkSignature(PUBLIC_KEY, 'prod-1', 'prod-1-20260310T060000Z', sidecar, 'garbage\n').problem).toBe('forged or damaged: prod-1-20260310T060000Z.sha256.sig is not a controlplane-backup signature');
  });

  it('counts no forged set toward keepLast: a flood of newer forgeries deletes no genuine set', () => {
    const genuine = Array.from({ length: 3 }, (_, i) => ({ date: new Date(now.getTime() - (i + 1) * 6 * HOUR), shape: 'complete' as Shape }));
    const forged = Array.from({ length: 5 }, (_, i) => ({ date: new Date(now.getTime() - i * 60_000), shape: 'forged' as Shape }));
    const { sets } = listing([...genuine, ...forged], undefined, PUBLIC_KEY);
    const decision = decideRetention({ sets, policy: { ...NONE, keepLast: 3 }, now, incompleteGraceSeconds: 1800 });
    expect(decision.deleteSets).toEqual([]);
    expect(decision.keptComplete).toEqual(genuine.map(({ date }) => `prod-1-${formatStamp(date)}`));
    // the backup run whose set is genuine still prunes; a forged "current" never does
    const run = decideRetention({ sets, policy: { ...NONE, keepLast: 1 }, now, current: `prod-1-${formatStamp(genuine[0].date)}`, incompleteGraceSeconds: 1800 });
    expect(run.skipped).toBeNull();
    expect(run.deleteSets).toEqual([`prod-1-${formatStamp(genuine[2].date)}`, `prod-1-${formatStamp(genuine[1].date)}`]);
    const fake = decideRetention({ sets, policy: { ...NONE, keepLast: 1 }, now, current: `prod-1-${formatStamp(forged[0].date)}`, incompleteGraceSeconds: 1800 });
    expect(fake.deleteKeys).toEqual([]);
    expect(fake.skipped).toMatch(/^this run's set prod-1-20260310T120000Z is not signed with the cluster's signing key in the listing: forged: /);
  });

  it('removes an unsigned set only past maxAge and older than the newest signed set (sets from before the key)', () => {
    const { sets } = listing([
      { date: at('2026-03-10T06:00:00Z'), shape: 'complete' },
      { date: at('2026-03-09T06:00:00Z'), shape: 'unsigned' },
      { date: at('2026-01-01T06:00:00Z'), shape: 'unsigned' },
    ], undefined, PUBLIC_KEY);
    expect(decideRetention({ sets, policy: { ...NONE, keepLast: 1 }, now, incompleteGraceSeconds: 1800 }).deleteSets).toEqual([]);
    expect(decideRetention({ sets, policy: { ...NONE, keepLast: 1, maxAgeHours: 30 * 24 }, now, incompleteGraceSeconds: 1800 }).deleteSets)
      .toEqual(['prod-1-20260101T060000Z']);
  });
});

describe('decideRetention', () => {
  const now = at('2026-03-10T12:00:00Z');
  const hourlySets = (count: number) => Array.from({ length: count }, (_, i) => ({ date: new Date(now.getTime() - i * 6 * HOUR), shape: 'complete' as Shape }));

  it('keeps a set under S3 Object Lock until stamp + days + the Job deadline + the clock skew, and says when it can go', () => {
    const { sets } = listing(hourlySets(8));
    // keepLast 2 makes the sets of 12 h to 42 h ago due; a 1-day lock ends at most 24 h + 30 min (the deadline) + 5 min
    // (the skew) after a set's stamp: the sets of 30, 36 and 42 h ago go, those of 12, 18 and 24 h ago wait.
    const decision = decideRetention({ sets, policy: { ...NONE, keepLast: 2 }, now, current: 'prod-1-20260310T120000Z', incompleteGraceSeconds: 1800, objectLockDays: 1 });
    expect(decision.deleteSets).toEqual(['prod-1-20260308T180000Z', 'prod-1-20260309T000000Z', 'prod-1-20260309T060000Z']);
    expect(decision.locked).toEqual([
      { name: 'prod-1-20260309T120000Z', deletableAfter: '2026-03-10T12:35:00.000Z' },
      { name: 'prod-1-20260309T180000Z', deletableAfter: '2026-03-10T18:35:00.000Z' },
      { name: 'prod-1-20260310T000000Z', deletableAfter: '2026-03-11T00:35:00.000Z' },
    ]);
    expect(decision.keptComplete).toHaveLength(5);
    expect(decideRetention({ sets, policy: { ...NONE, keepLast: 2 }, now, current: 'prod-1-20260310T120000Z', incompleteGraceSeconds: 1800 }).locked).toEqual([]);
  });

  it('deletes nothing when no rule is set', () => {
    const { sets } = listing(hourlySets(10));
    expect(decideRetention({ sets, policy: NONE, now, incompleteGraceSeconds: 1800 }).deleteKeys).toEqual([]);
  });

  it('keeps the keepLast newest complete sets and deletes the rest with every object', () => {
    const { sets } = listing(hourlySets(5));
    const decision = decideRetention({ sets, policy: { ...NONE, keepLast: 2 }, now, current: 'prod-1-20260310T120000Z', incompleteGraceSeconds: 1800 });
    expect(decision.skipped).toBeNull();
    expect(decision.keptComplete).toEqual(['prod-1-20260310T120000Z', 'prod-1-20260310T060000Z']);
    expect(decision.deleteSets).toEqual(['prod-1-20260309T120000Z', 'prod-1-20260309T180000Z', 'prod-1-20260310T000000Z']);
    // snapshot, PKI bundle, meta, sidecar and signature of each of the three
    expect(decision.deleteKeys).toHaveLength(15);
  });

  it('keeps one set per day for daily, the newest of each day', () => {
    const { sets } = listing(hourlySets(9));
    const decision = decideRetention({ sets, policy: { ...NONE, daily: 2 }, now, incompleteGraceSeconds: 0 });
    expect(decision.keptComplete).toEqual(['prod-1-20260310T120000Z', 'prod-1-20260309T180000Z']);
  });

  it('never lets maxAge take the complete sets below keepLast, nor below one', () => {
    const { sets } = listing(hourlySets(5));
    const later = new Date(now.getTime() + 365 * 24 * HOUR);
    expect(decideRetention({ sets, policy: { ...NONE, keepLast: 3, maxAgeHours: 24 }, now: later, incompleteGraceSeconds: 0 }).keptComplete)
      .toEqual(['prod-1-20260310T120000Z', 'prod-1-20260310T060000Z', 'prod-1-20260310T000000Z']);
    expect(decideRetention({ sets, policy: { ...NONE, maxAgeHours: 24 }, now: later, incompleteGraceSeconds: 0 }).keptComplete)
      .toEqual(['prod-1-20260310T120000Z']);
  });

  it('does not run when the run\'s own set is not the newest complete one (a clock behind)', () => {
    const { sets } = listing(hourlySets(5));
    const decision = decideRetention({ sets, policy: { ...NONE, keepLast: 1 }, now, current: 'prod-1-20260310T000000Z', incompleteGraceSeconds: 0 });
    expect(decision).toMatchObject({ deleteKeys: [], skipped: 'this run\'s set prod-1-20260310T000000Z is not the newest complete set (prod-1-20260310T120000Z is): the clock may be behind' });
    expect(decideRetention({ sets, policy: { ...NONE, keepLast: 1 }, now, current: 'prod-1-20990101T000000Z', incompleteGraceSeconds: 0 }).skipped)
      .toBe('this run\'s set prod-1-20990101T000000Z is not complete in the listing');
  });

  it('a year-ahead set is never deleted nor counted, and a correct clock still prunes the rest', () => {
    const { sets } = listing([{ date: at('2027-03-10T12:00:00Z'), shape: 'complete' }, ...hourlySets(4)]);
    const decision = decideRetention({ sets, policy: { ...NONE, keepLast: 1 }, now, current: 'prod-1-20260310T120000Z', incompleteGraceSeconds: 0 });
    expect(decision.future).toEqual(['prod-1-20270310T120000Z']);
    expect(decision.deleteSets).not.toContain('prod-1-20270310T120000Z');
    expect(decision.keptComplete).toEqual(['prod-1-20260310T120000Z']);
  });

  it('deletes an incomplete set only when older than the newest complete one and than the grace', () => {
    const { sets } = listing([
      { date: now, shape: 'complete' },
      { date: new Date(now.getTime() - 10 * 60_000), shape: 'no-sidecar' }, // an on-demand backup still uploading
      { date: new Date(now.getTime() - 2 * HOUR), shape: 'no-sidecar' },
      { date: new Date(now.getTime() - 3 * HOUR), shape: 'unreadable-sidecar' },
    ]);
    const decision = decideRetention({ sets, policy: { ...NONE, keepLast: 5 }, now, incompleteGraceSeconds: 1800 });
    expect(decision.deleteSets).toEqual(['prod-1-20260310T100000Z']);
  });
});

// ---- properties ---------------------------------------------------------------------------------------------

const BASE = Date.UTC(2026, 0, 1);
const shapeArb = fc.constantFrom<Shape>('complete', 'complete', 'complete', 'no-sidecar', 'lone-sidecar', 'wrong-size', 'garbage-sidecar', 'unreadable-sidecar', 'no-pki', 'unsigned', 'forged', 'forged');
const entriesArb = fc.array(fc.record({ minutes: fc.integer({ min: 0, max: 400 * 24 * 60 }), shape: shapeArb }), { maxLength: 40 })
  .map((entries) => entries.map(({ minutes, shape }) => ({ date: new Date(BASE + minutes * 60_000), shape })));
const policyArb = fc.record({
  keepLast: fc.integer({ min: 0, max: 10 }), maxAgeHours: fc.integer({ min: 0, max: 2000 }),
  hourly: fc.integer({ min: 0, max: 30 }), daily: fc.integer({ min: 0, max: 10 }), weekly: fc.integer({ min: 0, max: 6 }), monthly: fc.integer({ min: 0, max: 4 }),
});
const clockArb = fc.integer({ min: -30 * 24 * 60, max: 500 * 24 * 60 }).map((minutes) => new Date(BASE + minutes * 60_000));

describe('retention properties (random listings, random clocks)', () => {
  it('never deletes a foreign key, a future set, the newest complete set, an undetermined set or a young incomplete one', () => {
    fc.assert(fc.property(entriesArb, policyArb, clockArb, fc.integer({ min: 0, max: 7200 }), fc.option(fc.nat(), { nil: undefined }), (entries, policy, now, grace, pick) => {
      const { sets } = listing(entries);
      const complete = sets.filter((set) => set.complete);
      const current = pick === undefined || complete.length === 0 ? undefined : complete[pick % complete.length].name;
      const decision = decideRetention({ sets, policy, now, current, incompleteGraceSeconds: grace });
      const doomedKeys = new Set(decision.deleteKeys);
      for (const object of FOREIGN) expect(doomedKeys.has(object.key)).toBe(false);
      const byName = new Map(sets.map((set) => [set.name, set]));
      const latest = latestComplete(sets, now);
      for (const name of decision.deleteSets) {
        const set = byName.get(name)!;
        expect(isFuture(set, now)).toBe(false);
        expect(name).not.toBe(latest?.name);
        expect(name).not.toBe(current);
        expect(set.undetermined).toBe(false);
        if (!set.complete) expect(now.getTime() - set.createdAt.getTime()).toBeGreaterThan(grace * 1000);
      }
      // every deleted key belongs to a deleted set of the exact pattern
      const setKeys = new Set(decision.deleteSets.flatMap((name) => byName.get(name)!.objects.map((object) => object.key)));
      expect([...doomedKeys].every((key) => setKeys.has(key))).toBe(true);
      // the floor: complete present sets never fall below keepLast (or one)
      const present = complete.filter((set) => !isFuture(set, now));
      const survivors = present.filter((set) => !decision.deleteSets.includes(set.name)).length;
      expect(survivors).toBeGreaterThanOrEqual(Math.min(present.length, Math.max(policy.keepLast, 1)));
      // a run whose set is not the newest complete one deletes nothing
      if (current !== undefined && latest?.name !== current) expect(decision.deleteKeys).toEqual([]);
    }), { numRuns: 400 });
  });

  it('with a signing key: the newest complete SIGNED set always survives, nothing forged counts, no foreign key goes', () => {
    fc.assert(fc.property(entriesArb, policyArb, clockArb, fc.integer({ min: 0, max: 7200 }), fc.option(fc.nat(), { nil: undefined }), (entries, policy, now, grace, pick) => {
      const { sets } = listing(entries, undefined, PUBLIC_KEY);
      const signed = sets.filter((set) => set.complete && set.signature === 'valid');
      const current = pick === undefined || sets.length === 0 ? undefined : sets[pick % sets.length].name;
      const decision = decideRetention({ sets, policy, now, current, incompleteGraceSeconds: grace });
      const doomedKeys = new Set(decision.deleteKeys);
      for (const object of FOREIGN) expect(doomedKeys.has(object.key)).toBe(false);
      const byName = new Map(sets.map((set) => [set.name, set]));
      const presentSigned = signed.filter((set) => !isFuture(set, now)).sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
      const latest = latestComplete(sets, now);
      // latest is the newest present signed set: never forged, unsigned or future
      expect(latest?.name).toBe(presentSigned[0]?.name);
      if (latest) expect(latest.signature).toBe('valid');
      expect(decision.deleteSets).not.toContain(presentSigned[0]?.name);
      for (const name of decision.deleteSets) expect(isFuture(byName.get(name)!, now)).toBe(false);
      // forged and unsigned sets never hold a signed one below keepLast: the signed survivors reach the floor
      const survivors = presentSigned.filter((set) => !decision.deleteSets.includes(set.name)).length;
      expect(survivors).toBeGreaterThanOrEqual(Math.min(presentSigned.length, Math.max(policy.keepLast, 1)));
      expect(decision.keptComplete.every((name) => byName.get(name)!.signature === 'valid')).toBe(true);
      // a run whose own set is not the newest signed one deletes nothing
      if (current !== undefined && latest?.name !== current) expect(decision.deleteKeys).toEqual([]);
    }), { numRuns: 400 });
  });

  it('never chooses a future set as latest, and latest is the newest complete present set', () => {
    fc.assert(fc.property(entriesArb, clockArb, (entries, now) => {
      const { sets } = listing(entries);
      const latest = latestComplete(sets, now);
      const candidates = sets.filter((set) => set.complete && !isFuture(set, now));
      if (candidates.length === 0) expect(latest).toBeUndefined();
      else expect(latest!.createdAt.getTime()).toBe(Math.max(...candidates.map((set) => set.createdAt.getTime())));
    }), { numRuns: 400 });
  });
});
