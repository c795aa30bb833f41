import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkCertificates, checkCluster, checkEtcdVersion, checkFreeSpace } from '../../lib/agent/restore/checks';
import { mkTemp, rmTemp } from '../support/proc';

describe('pre-restore checks', () => {
  it('etcd version: a newer minor than the tools fails, older and equal pass, unknown warns', () => {
    expect(checkEtcdVersion('3.5.21', '3.5.16')).toEqual([]);
    expect(checkEtcdVersion('3.4.23', '3.5.16')).toEqual([]);
    expect(checkEtcdVersion('3.6.1', '3.5.16')).toEqual([{ check: 'etcd-version', severity: 'error',
      message: 'etcd-version: the snapshot was taken by etcd 3.6.1, the restore tools are etcd 3.5.16: restore with a tools image whose etcdutl is 3.6 or newer (images.tools)' }]);
    expect(checkEtcdVersion(undefined, '3.5.16')[0].severity).toBe('warning');
  });

  it('free space: at least twice the snapshot', () => {
    expect(checkFreeSpace('/var/lib/etcd', 200 * 1048576, 100 * 1048576)).toEqual([]);
    expect(checkFreeSpace('/var/lib/etcd', 150 * 1048576, 100 * 1048576)).toEqual([{ check: 'free-space', severity: 'error',
      message: 'free-space: /var/lib/etcd has 150.0 MiB free, the restore needs at least twice the snapshot (2 x 100.0 MiB = 200.0 MiB) for the staging dir: free space on that volume (old member.before-restore-* dirs?) or grow it' }]);
  });

  it('certificates: expired fails, expiring within 7 days warns with the date', () => {
    const dir = mkTemp('certs');
    try {
      const cert = (days: number, name: string) => {
        execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, `${name}.key`), '-subj', `/CN=${name}`, '-days', String(days), '-out', join(dir, `${name}.crt`)], { stdio: 'ignore' });
        return { path: `etc/kubernetes/pki/${name}.crt`, data: readFileSync(join(dir, `${name}.crt`)) };
      };
      const files = [cert(365, 'ok'), cert(3, 'soon'), { path: 'etc/kubernetes/pki/ca.key', data: Buffer.from('key') }];
      expect(checkCertificates(files, new Date())).toEqual([expect.objectContaining({ check: 'certificates', severity: 'warning', message: expect.stringMatching(/^certificates: etc\/kubernetes\/pki\/soon\.crt of the backup expires on \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ, within 7 days/) })]);
      const later = new Date(Date.now() + 10 * 86_400_000);
      expect(checkCertificates(files, later).map((f) => [f.severity, f.message.split(' ')[1]])).toEqual([['error', 'etc/kubernetes/pki/soon.crt']]);
    } finally {
      rmTemp(dir);
    }
  });

  it('cluster: another cluster\'s backup needs allowCrossCluster', () => {
    expect(checkCluster('prod', 'prod', false)).toEqual([]);
    expect(checkCluster('staging', 'prod', true)).toEqual([]);
    expect(checkCluster('staging', 'prod', false)[0].message).toBe('cluster: the backup was taken of cluster staging (its meta.json), this restore is for prod: pick a backup of prod, or set allowCrossCluster: true on the restore request if this is on purpose');
  });
});
