import { describe, expect, it } from 'vitest';
import { barrierKey, barrierMember, restoreFolder, restoreResultKey } from '../../lib/storage/restores';

describe('restore keys', () => {
  it('live under <cluster folder>/restores/<id>/', () => {
    expect(restoreFolder('etcd/prod', 'r1')).toBe('etcd/prod/restores/r1');
    expect(restoreFolder('', 'r1')).toBe('restores/r1');
    expect(barrierKey('etcd/prod', 'r1', 'cp-1')).toBe('etcd/prod/restores/r1/cp-1.staged');
    expect(restoreResultKey('etcd/prod', 'r1', 'cp-1')).toBe('etcd/prod/restores/r1/cp-1.result.json');
  });

  it('reads the member back from a barrier key of that restore only', () => {
    expect(barrierMember('etcd/prod/restores/r1', 'etcd/prod/restores/r1/cp-1.staged')).toBe('cp-1');
    expect(barrierMember('etcd/prod/restores/r1', 'etcd/prod/restores/r10/cp-1.staged')).toBeUndefined();
    expect(barrierMember('etcd/prod/restores/r1', 'etcd/prod/restores/r1/cp-1.result.json')).toBeUndefined();
    expect(barrierMember('etcd/prod/restores/r1', 'etcd/prod/restores/r1/x/cp-1.staged')).toBeUndefined();
  });
});
