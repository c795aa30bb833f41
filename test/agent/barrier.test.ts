import { describe, expect, it } from 'vitest';
import { storeBarrier } from '../../lib/agent/restore/barrier';
import { LocalStore } from '../../lib/storage/store';
import { mkTemp, rmTemp } from '../support/proc';

describe('the members\' barrier in the object store', () => {
  it('records what each member staged, and reads back only this restore\'s members', async () => {
    const dir = mkTemp('barrier');
    try {
      const store = new LocalStore(dir);
      const a = storeBarrier(store, 'etcd/prod', 'r1');
      const other = storeBarrier(store, 'etcd/prod', 'r2');
      await a.stage('cp-1', 'prod-20261201T000000Z');
      await other.stage('cp-2', 'prod-20261130T000000Z');
      expect(await a.staged()).toEqual(new Map([['cp-1', 'prod-20261201T000000Z']]));
      await a.stage('cp-2', 'prod-20261201T000000Z');
      expect([...(await a.staged()).keys()].sort()).toEqual(['cp-1', 'cp-2']);
      expect(a.location).toBe(`${store.description}/etcd/prod/restores/r1`);
    } finally {
      rmTemp(dir);
    }
  });
});
