// Grouping a folder's objects into backup sets: only the cluster's exact pattern, directly in its folder, is a set.
import { describe, expect, it } from 'vitest';
import { groupFolder, parseDrillReport, parseStamp } from '../../lib/storage/layout';

const objects = (...keys: string[]) => keys.map((key) => ({ key, size: 10 }));

describe('groupFolder', () => {
  it('keeps names that are not of the exact pattern, or not calendar times, or in subfolders, out of the sets', () => {
    const { sets, others } = groupFolder('prod-1', 'etcd/prod-1', objects(
      'etcd/prod-1/prod-1-20260301T060000Z.db',
      'etcd/prod-1/prod-1-20260301T060000Z.sha256',
      'etcd/prod-1/prod-1-20260230T060000Z.db', // 30 February
      'etcd/prod-1/prod-1-20260301T060000Z', // no dot after the stamp
      'etcd/prod-1/prod-1-latest.db',
      'etcd/prod-1/prod-10-20260301T060000Z.db',
      'etcd/prod-1/restores/undo/prod-1-20260301T060000Z.db',
    ));
    expect(sets.map((set) => [set.name, set.objectCount, set.hasSidecar, set.compression, set.encrypted, set.pki])).toEqual([
      ['prod-1-20260301T060000Z', 2, true, 'none', false, false],
    ]);
    expect(others.map((object) => object.key)).toEqual([
      'etcd/prod-1/prod-1-20260230T060000Z.db',
      'etcd/prod-1/prod-1-20260301T060000Z',
      'etcd/prod-1/prod-1-latest.db',
      'etcd/prod-1/prod-10-20260301T060000Z.db',
      'etcd/prod-1/restores/undo/prod-1-20260301T060000Z.db',
    ]);
  });

  it('reads a set without a snapshot object as not encrypted, with no snapshot key', () => {
    const [set] = groupFolder('a', '', objects('a-20260101T000000Z.pki.tar.gz.age', 'a-20260101T000000Z.drill.json')).sets;
    expect(set).toMatchObject({ snapshotKey: null, compression: null, encrypted: false, pki: true, drillKey: 'a-20260101T000000Z.drill.json' });
  });
});

describe('parseStamp and parseDrillReport', () => {
  it('parses UTC stamps and refuses impossible ones', () => {
    expect(parseStamp('20260301T060102Z')?.toISOString()).toBe('2026-03-01T06:01:02.000Z');
    expect(parseStamp('20260301T246000Z')).toBeUndefined();
  });

  it('reads a drill report, and calls anything else unreadable', () => {
    expect(parseDrillReport('{"kind":"DrillReport","result":"verified-not-restored","checkedAt":"2026-03-01T03:30:04Z","message":"m"}'))
      .toEqual({ result: 'verified-not-restored', checkedAt: '2026-03-01T03:30:04Z', message: 'm' });
    expect(parseDrillReport('{"kind":"DrillReport","result":"maybe"}').result).toBe('unreadable');
    expect(parseDrillReport('<html>').result).toBe('unreadable');
  });
});
