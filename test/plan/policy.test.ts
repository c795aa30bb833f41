// `controlplane-backup policy` for the storages of issue 15 item 1 and issue 13 item 4: a workload identity's role gets
// the policy (and is the bucket policy's principal); Object Lock adds what locked uploads and versioned deletes need.
import { describe, expect, it } from 'vitest';
import { storagePolicies } from '../../lib/plan/policy';
import { inventoryOf, minimalDocument } from '../support/inventory';

const ROLE = 'arn:aws:iam::123456789012:role/etcd-backup';

describe('storage policies', () => {
  it('Object Lock: PutObjectRetention on upload, ListBucketVersions and DeleteObjectVersion for retention', () => {
    const document = minimalDocument();
    document.storages.s3main.s3.objectLock = { mode: 'COMPLIANCE', days: 30 };
    const [policies] = storagePolicies(inventoryOf(document)).storages;
    const [list, write] = policies.aws.userPolicies['controlplane-backup-alpha'].Statement;
    expect(list.Action).toEqual(['s3:ListBucket', 's3:ListBucketVersions']);
    expect(write.Action).toEqual(['s3:AbortMultipartUpload', 's3:DeleteObject', 's3:DeleteObjectVersion', 's3:GetObject', 's3:ListMultipartUploadParts', 's3:PutObject', 's3:PutObjectRetention']);
    expect(policies.notes).toContain('Object Lock (COMPLIANCE, 30 days): the bucket must be created with Object Lock enabled; uploads need s3:PutObjectRetention, and deleting a set whose lock passed removes every version (s3:ListBucketVersions, s3:DeleteObjectVersion).');
    const plain = storagePolicies(inventoryOf(minimalDocument())).storages[0].aws.userPolicies['controlplane-backup-alpha'].Statement[1];
    expect(plain.Action).not.toContain('s3:PutObjectRetention');
  });

  it('workload identity: one policy for the role, covering the folder of every cluster that assumes it', () => {
    const document = minimalDocument();
    document.storages.s3main.credentials = { workloadIdentity: { aws: { roleArn: ROLE, mechanism: 'projectedToken' } } };
    const [policies] = storagePolicies(inventoryOf(document)).storages;
    expect(Object.keys(policies.aws.userPolicies)).toEqual(['etcd-backup']);
    expect(policies.aws.userPolicies['etcd-backup'].Statement[1].Resource).toEqual(['arn:aws:s3:::backups/etcd/alpha/*', 'arn:aws:s3:::backups/etcd/beta/*']);
    expect(policies.aws.bucketPolicy.Statement.every((statement) => statement.Principal?.AWS[0] === ROLE)).toBe(true);
    expect(policies.notes[0]).toBe(`Storage "s3main" uses workload identity: attach the policy to the role ${ROLE}, which every cluster using it assumes (alpha, beta); give clusters storages with roles of their own to keep each out of the others' folders.`);
  });
});
