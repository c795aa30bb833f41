// What the tests build on, checked against the real moto server: S3 with Object Lock, STS web identity without a
// signature check on the token, a start bounded in time and a stop by PID.
import { CreateBucketCommand, DeleteObjectsCommand, HeadObjectCommand, ListObjectVersionsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAlive } from './proc';
import { startMoto, type MotoServer } from './moto';

describe('moto server', () => {
  let moto: MotoServer;
  beforeAll(async () => {
    moto = await startMoto();
  }, 40_000);
  afterAll(async () => {
    await moto?.stop();
  });

  it('keeps an object locked in a bucket made with Object Lock', async () => {
    const s3 = moto.s3();
    await s3.send(new CreateBucketCommand({ Bucket: 'locked', ObjectLockEnabledForBucket: true }));
    const until = new Date(Date.now() + 86_400_000);
    const body = 'x';
    await s3.send(new PutObjectCommand({
      Bucket: 'locked', Key: 'a', Body: body, ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: until,
      ContentMD5: createHash('md5').update(body).digest('base64'),
    }));
    // moto 5.1.1 answers GetObjectRetention with an empty body: HeadObject carries the lock.
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'locked', Key: 'a' }));
    expect(head.ObjectLockMode).toBe('GOVERNANCE');
    expect(Math.abs(head.ObjectLockRetainUntilDate!.getTime() - until.getTime())).toBeLessThan(1000);
    // A delete without a version id only hides a locked object behind a delete marker: its version stays.
    await s3.send(new DeleteObjectsCommand({ Bucket: 'locked', Delete: { Objects: [{ Key: 'a' }], Quiet: true } }));
    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: 'locked' }));
    expect(versions.Versions?.map((version) => version.Key)).toEqual(['a']);
    expect(versions.DeleteMarkers?.map((marker) => marker.Key)).toEqual(['a']);
  });

  it('answers AssumeRoleWithWebIdentity for any token, and stops by PID', async () => {
    const response = await fetch(`${moto.endpoint}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        Action: 'AssumeRoleWithWebIdentity', Version: '2011-06-15', RoleArn: 'arn:aws:iam::123456789012:role/backup',
        RoleSessionName: 's', WebIdentityToken: 'not.a.verified.jwt',
      }),
    });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('<AccessKeyId>');
    const { pid } = moto;
    await moto.stop();
    expect(isAlive(pid)).toBe(false);
  });
});
