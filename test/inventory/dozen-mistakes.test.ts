/** The dozen-mistakes inventory through the command line, as a user runs it: every problem, in file order, exit 2. */
import { cpSync, mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Io } from '../../lib/cli/io';
import { run } from '../../lib/cli/main';

const ROOT = join(__dirname, '..', '..');
const FILE = 'test/fixtures/invalid/dozen-mistakes.yaml';

const PROBLEMS = [
  `${FILE}:6:17: storages.primary.s3.endpoint: "s3.example.com" is not a URL; write it like https://s3.eu-central-1.amazonaws.com`,
  `${FILE}:7:15: storages.primary.s3.bucket: "My_Backups" may contain only lower-case letters, digits, "." and "-"`,
  `${FILE}:8:15: storages.primary.s3.prefix: "/etcd/" must not start or end with "/"`,
  // The first `minio` is shadowed by the duplicate below; it is checked all the same.
  `${FILE}:16:7: storages.minio.s3.secretAccessKey: unknown key "secretAccessKey"; credentials are never written into the inventory: reference them through a storage's \`credentials\` (existingSecret, externalSecret or sealedSecret)`,
  `${FILE}:20:3: duplicate key "minio": a key (a cluster or storage name too) may appear only once in a mapping`,
  // No tools image anywhere: there is no public default to fall back on.
  `${FILE}:24:5: defaults.backup.images.tools: is not set: the pods need the tools image, and there is no public default: build it with \`npm run image\`, push it with \`skopeo copy oci-archive:.tmp/image/controlplane-backup-tools.oci.tar docker://REGISTRY/controlplane-backup-tools:TAG\`, and set \`images.tools\` to it, preferably by digest (REGISTRY/controlplane-backup-tools@sha256:<digest printed by the build>)`,
  `${FILE}:24:5: defaults.backup.shedule: unknown key "shedule"; did you mean "schedule"?`,
  // A private key is never repeated into logs.
  `${FILE}:27:20: defaults.backup.encryption.recipients[0]: "AGE-SECRET-KEY-..." (not repeated here) is an age identity (a private key); put only recipients (public keys, "age1...") in the inventory`,
  `${FILE}:32:29: clusters.prod-eu-1.kubeadm.members[0].ip: "10.0.0.300" is not an IPv4 or IPv6 address`,
  `${FILE}:34:17: clusters.prod-eu-1.backup.schedule: "61 2 * * *" is not a valid schedule: minute field "61": 61 is out of range 0-59`,
  `${FILE}:35:17: clusters.prod-eu-1.backup.timeZone: "Europe/Berln" is not an IANA time zone; did you mean "Europe/Berlin"?`,
  `${FILE}:36:20: clusters.prod-eu-1.backup.compression: "lz4" is not allowed; use "zstd", "gzip" or "none"`,
  `${FILE}:38:17: clusters.prod-eu-1.backup.retention.maxAge: "30days" is not a duration; write a whole number with h, d or w (e.g. "36h", "30d", "8w")`,
  `${FILE}:43:18: clusters.prod-eu-2.backup.storages[0]: "primray" is not a storage; did you mean "primary"?`,
  `${FILE}:44:3: clusters.Prod_EU_2: "Prod_EU_2" must be a DNS-1123 label: lower-case letters, digits and "-", starting and ending with a letter or digit`,
];

function capture(): { io: Io; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return { io: { out: (t) => { out += t; }, err: (t) => { err += t; }, interactive: false }, out: () => out, err: () => err };
}

/** Every entry under `dir` (hidden ones too) with its bytes and mode, for a byte-for-byte comparison. */
function snapshot(dir: string): Record<string, string> {
  const entries: Record<string, string> = {};
  const walk = (current: string) => {
    for (const name of readdirSync(current).sort()) {
      const path = join(current, name);
      const stat = statSync(path);
      const key = relative(dir, path);
      if (stat.isDirectory()) {
        entries[`${key}/`] = `dir ${stat.mode.toString(8)} ${stat.mtimeMs}`;
        walk(path);
      } else {
        entries[key] = `file ${stat.mode.toString(8)} ${stat.mtimeMs} ${readFileSync(path).toString('base64')}`;
      }
    }
  };
  walk(dir);
  return entries;
}

describe('dozen-mistakes.yaml', () => {
  const cwd = process.cwd();
  // The fixture path is relative, as a user types it.
  beforeEach(() => { if (process.cwd() !== ROOT) process.chdir(ROOT); });
  afterEach(() => { if (process.cwd() !== cwd) process.chdir(cwd); });

  it('validate: exit 2, every problem in file order, then the count line; nothing on stdout', async () => {
    const { io, out, err } = capture();
    expect(await run(['validate', '--inventory', FILE], io)).toBe(2);
    expect(err()).toBe(`${PROBLEMS.join('\n')}\n15 problems found; nothing was written.\n`);
    expect(out()).toBe('');
  });

  describe('synth into an existing output folder', () => {
    let parent: string;
    beforeEach(() => {
      parent = mkdtempSync(join(tmpdir(), 'cpb-dozen-'));
      mkdirSync(join(parent, 'out', 'prod-eu-1'), { recursive: true });
      writeFileSync(join(parent, 'out', 'MARKER'), 'previous output, keep me\n');
      // An earlier output of synth: --out refuses folders it did not write.
      writeFileSync(join(parent, 'out', '.controlplane-backup-output'), 'synth\n');
      writeFileSync(join(parent, 'out', 'prod-eu-1', 'kustomization.yaml'), 'resources: []\n');
      cpSync(join(ROOT, FILE), join(parent, 'inventory.yaml'));
    });
    afterEach(() => rmSync(parent, { recursive: true, force: true }));

    it('exit 2, the same problems, and the folder (and its parent) byte-for-byte untouched', async () => {
      const before = snapshot(parent);
      const { io, out, err } = capture();
      const inventory = join(parent, 'inventory.yaml');
      expect(await run(['synth', '--inventory', inventory, '--out', join(parent, 'out')], io)).toBe(2);
      expect(err()).toBe(`${PROBLEMS.map((line) => line.replace(FILE, inventory)).join('\n')}\n15 problems found; nothing was written.\n`);
      expect(out()).toBe('');
      // No staging or "previous" folder left beside it either.
      expect(snapshot(parent)).toEqual(before);
      expect(readFileSync(join(parent, 'out', 'MARKER'), 'utf8')).toBe('previous output, keep me\n');
    });
  });

  it('a valid inventory validates with exit 0 (the control case)', async () => {
    const { io, err } = capture();
    expect(await run(['validate', '--inventory', 'test/fixtures/valid/minimal.yaml'], io)).toBe(0);
    // Known wording problem (see report): "1 clusters", "1 storages".
    expect(err()).toBe('test/fixtures/valid/minimal.yaml: valid (1 cluster, 1 storage)\n');
  });
});
