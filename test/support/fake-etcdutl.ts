// A stand-in etcdutl for unit tests of the restore commands (the real one runs in the end-to-end tests): `snapshot
// restore --help` lists --bump-revision (or not, with FAKE_ETCDUTL_NO_BUMP), `version` says 3.5.16 (or FAKE_ETCDUTL_VERSION), `snapshot restore FILE ... --data-dir D`
// writes D/member/snap/db (a copy of FILE) and D/member/args.json, and fails when FILE holds "fail".
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const SCRIPT = `#!${process.execPath}
const fs = require('fs');
const args = process.argv.slice(2);
if (args[0] === 'version') { console.log('etcdutl version: ' + (process.env.FAKE_ETCDUTL_VERSION || '3.5.16') + '\\nAPI version: 3.5'); process.exit(0); }
if (args.includes('--help')) { console.log(process.env.FAKE_ETCDUTL_NO_BUMP ? 'Flags: --data-dir' : 'Flags: --bump-revision uint --mark-compacted'); process.exit(0); }
const file = args[2];
const data = fs.readFileSync(file);
if (data.toString().includes('fail')) { console.error('Error: snapshot file is corrupt'); process.exit(1); }
const dir = args[args.indexOf('--data-dir') + 1];
if (fs.existsSync(dir)) { console.error('Error: data-dir "' + dir + '" exists'); process.exit(1); }
fs.mkdirSync(dir + '/member/snap', { recursive: true });
fs.writeFileSync(dir + '/member/snap/db', data);
fs.writeFileSync(dir + '/member/args.json', JSON.stringify(args));
`;

/** A directory holding the fake etcdutl, to put first on PATH. */
export function fakeEtcdutl(dir: string): string {
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'etcdutl'), SCRIPT);
  chmodSync(join(bin, 'etcdutl'), 0o755);
  return bin;
}
