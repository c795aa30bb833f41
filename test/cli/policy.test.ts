/**
 * Issue 13, item 4 (first half): in the example one credential set could write, and delete, every cluster's backups.
 * `controlplane-backup policy` prints, per storage, the policies that give each cluster's credentials its own
 * prefix only, and with `--prune separate` (or `pruneCredentials`) writers that cannot delete plus a prune user per cluster.
 */
import { describe, expect, it } from 'vitest';
import type { Io } from '../../lib/cli/io';
import { run } from '../../lib/cli/main';

async function cli(...argv: string[]) {
  let out = '';
  let err = '';
  const io: Io = { out: (text) => { out += text; }, err: (text) => { err += text; }, interactive: false };
  const code = await run(argv, io);
  return { code, out, err };
}
type Statement = { Sid: string; Effect: string; Principal?: { AWS: string[] }; Action: string[]; Resource: string[]; Condition?: unknown };
type Policy = { Version: string; Statement: Statement[] };
interface StoragePolicies {
  storage: string;
  bucket: string;
  prune: string;
  aws: { userPolicies: Record<string, Policy>; bucketPolicy: Policy };
  minio: { policies: Record<string, Policy>; commands: string[] };
  ceph: { bucketPolicy: Policy };
  notes: string[];
}
const policies = async (...flags: string[]) => {
  const result = await cli('policy', '--inventory', 'examples/inventory.yaml', ...flags);
  expect(result.err).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.out) as { kind: string; storages: StoragePolicies[]; skipped: Record<string, string> };
};

describe('controlplane-backup policy', () => {
  it('prints, per S3 storage, one writer policy per cluster limited to its own prefix', async () => {
    const { kind, storages, skipped } = await policies('--aws-account', '111122223333');
    expect(kind).toBe('StoragePolicies');
    expect(storages.map((s) => s.storage)).toEqual(['offsite', 'primary']);
    expect(skipped).toEqual({
      'node-local': 'a local storage: the backups are files on the nodes, no credentials',
      'tenant-buckets': 'an objectBucketClaim storage: the provisioner creates the bucket and its one credential; give each cluster its own claim to separate them',
    });
    const primary = storages.find((s) => s.storage === 'primary')!;
    expect(primary.bucket).toBe('acme-controlplane-backups');
    expect(Object.keys(primary.aws.userPolicies)).toEqual(['controlplane-backup-prod-eu-1', 'controlplane-backup-staging-us-1', 'controlplane-backup-tenant-a']);
    const writer = primary.aws.userPolicies['controlplane-backup-prod-eu-1'];
    expect(writer).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'ListOwnPrefix', Effect: 'Allow', Action: ['s3:ListBucket'], Resource: ['arn:aws:s3:::acme-controlplane-backups'],
          Condition: { StringLike: { 's3:prefix': ['etcd/prod-eu-1/', 'etcd/prod-eu-1/*'] } },
        },
        {
          Sid: 'ReadWriteOwnPrefix', Effect: 'Allow',
          Action: ['s3:AbortMultipartUpload', 's3:DeleteObject', 's3:GetObject', 's3:ListMultipartUploadParts', 's3:PutObject'],
          Resource: ['arn:aws:s3:::acme-controlplane-backups/etcd/prod-eu-1/*'],
        },
      ],
    });
    // Nothing in a writer's policy reaches another cluster's prefix or the whole bucket's objects.
    const resources = Object.values(primary.aws.userPolicies).flatMap((p) => p.Statement.flatMap((s) => s.Resource));
    expect(resources.filter((r) => r.endsWith('/*') && !/\/etcd\/[a-z0-9-]+\/\*$/.test(r))).toEqual([]);
    expect(primary.aws.bucketPolicy.Statement.map((s) => [s.Sid, s.Principal?.AWS])).toEqual([
      ['ListOwnPrefixProdEu1', ['arn:aws:iam::111122223333:user/controlplane-backup-prod-eu-1']],
      ['ReadWriteOwnPrefixProdEu1', ['arn:aws:iam::111122223333:user/controlplane-backup-prod-eu-1']],
      ['ListOwnPrefixStagingUs1', ['arn:aws:iam::111122223333:user/controlplane-backup-staging-us-1']],
      ['ReadWriteOwnPrefixStagingUs1', ['arn:aws:iam::111122223333:user/controlplane-backup-staging-us-1']],
      ['ListOwnPrefixTenantA', ['arn:aws:iam::111122223333:user/controlplane-backup-tenant-a']],
      ['ReadWriteOwnPrefixTenantA', ['arn:aws:iam::111122223333:user/controlplane-backup-tenant-a']],
    ]);
    expect(primary.ceph.bucketPolicy.Statement[0].Principal).toEqual({ AWS: ['arn:aws:iam:::user/controlplane-backup-prod-eu-1'] });
    expect(primary.minio.policies['controlplane-backup-prod-eu-1']).toEqual(writer);
    expect(primary.minio.commands).toEqual([
      'mc admin policy create ALIAS controlplane-backup-prod-eu-1 controlplane-backup-prod-eu-1.json',
      'mc admin policy attach ALIAS controlplane-backup-prod-eu-1 --user controlplane-backup-prod-eu-1',
      'mc admin policy create ALIAS controlplane-backup-staging-us-1 controlplane-backup-staging-us-1.json',
      'mc admin policy attach ALIAS controlplane-backup-staging-us-1 --user controlplane-backup-staging-us-1',
      'mc admin policy create ALIAS controlplane-backup-tenant-a controlplane-backup-tenant-a.json',
      'mc admin policy attach ALIAS controlplane-backup-tenant-a --user controlplane-backup-tenant-a',
    ]);
  });

  it('with --prune separate, writers cannot delete (an explicit Deny) and each cluster\'s prune user deletes in its own folder only', async () => {
    const { storages } = await policies('--storage', 'primary', '--prune', 'separate', '--aws-account', '111122223333');
    expect(storages).toHaveLength(1);
    const [primary] = storages;
    expect(primary.prune).toBe('separate');
    const writerActions = Object.entries(primary.aws.userPolicies).filter(([name]) => !name.endsWith('.prune')).flatMap(([, p]) => p.Statement.flatMap((s) => s.Action));
    expect(writerActions).not.toContain('s3:DeleteObject');
    expect(Object.keys(primary.aws.userPolicies).filter((name) => name.endsWith('.prune'))).toEqual([
      'controlplane-backup-prod-eu-1.prune', 'controlplane-backup-staging-us-1.prune', 'controlplane-backup-tenant-a.prune',
    ]);
    expect(primary.aws.userPolicies['controlplane-backup-tenant-a.prune'].Statement).toEqual([
      {
        Sid: 'ListOwnPrefix', Effect: 'Allow', Action: ['s3:ListBucket'], Resource: ['arn:aws:s3:::acme-controlplane-backups'],
        Condition: { StringLike: { 's3:prefix': ['etcd/tenant-a/', 'etcd/tenant-a/*'] } },
      },
      { Sid: 'PruneOwnPrefix', Effect: 'Allow', Action: ['s3:DeleteObject', 's3:GetObject'], Resource: ['arn:aws:s3:::acme-controlplane-backups/etcd/tenant-a/*'] },
    ]);
    const deny = primary.aws.bucketPolicy.Statement.find((s) => s.Sid === 'WritersNeverDelete')!;
    expect(deny).toEqual({
      Sid: 'WritersNeverDelete', Effect: 'Deny',
      Principal: { AWS: ['arn:aws:iam::111122223333:user/controlplane-backup-prod-eu-1', 'arn:aws:iam::111122223333:user/controlplane-backup-staging-us-1', 'arn:aws:iam::111122223333:user/controlplane-backup-tenant-a'] },
      Action: ['s3:DeleteObject', 's3:DeleteObjectVersion'], Resource: ['arn:aws:s3:::acme-controlplane-backups/*'],
    });
    // Every Sid of the bucket policy is alphanumeric (AWS refuses others), the prune users' too.
    expect(primary.aws.bucketPolicy.Statement.map((s) => s.Sid).filter((sid) => !/^[A-Za-z0-9]+$/.test(sid))).toEqual([]);
    expect(primary.notes).toContain('--prune separate: the writers\' credentials cannot delete, so the backup Jobs\' retention would fail; add `pruneCredentials` to storage "primary" (a Secret with the keys of each cluster\'s prune user: controlplane-backup-prod-eu-1.prune, controlplane-backup-staging-us-1.prune, controlplane-backup-tenant-a.prune) so that a prune CronJob applies retention instead.');
  });

  it('a storage with pruneCredentials gets separate policies without the flag, and notes which CronJob prunes', async () => {
    const result = await cli('policy', '--inventory', 'test/fixtures/valid/prune-credentials.yaml');
    expect(result.err).toBe('');
    const { storages } = JSON.parse(result.out) as { storages: StoragePolicies[] };
    expect(storages.map((s) => [s.storage, s.prune])).toEqual([['primary', 'separate'], ['writer-deletes', 'writer']]);
    expect(storages[0].notes).toContain('Writers never delete: each cluster\'s prune CronJob (<cluster>-etcd-prune) applies retention with the Secret of pruneCredentials, which holds the keys of that cluster\'s prune user (controlplane-backup-prod.prune, controlplane-backup-tenant.prune).');
  });

  it('fails on a bad flag value, with what to pass instead', async () => {
    expect(await cli('policy', '--inventory', 'examples/inventory.yaml', '--prune', 'never')).toMatchObject({
      code: 2, err: 'controlplane-backup: --prune "never": pass "writer" (the backup Jobs delete their own old sets) or "separate" (writers cannot delete; each cluster\'s prune credentials can), or leave it out (separate for storages with pruneCredentials)\n',
    });
    expect(await cli('policy', '--inventory', 'examples/inventory.yaml', '--aws-account', '12'))
      .toMatchObject({ code: 2, err: 'controlplane-backup: --aws-account "12": pass the 12-digit AWS account id of the users, e.g. 111122223333\n' });
  });
});
