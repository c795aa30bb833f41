/**
 * Issue 15 item 1: a storage with workload identity. The ServiceAccounts of the backup, drill and restore pods carry
 * what the mechanism needs, the token is mounted only into containers that talk to the store, no key Secret is
 * referenced anywhere, and SUMMARY.md names the credential kind.
 */
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderInventory } from '../../lib/synth/render';
import { inventoryOf, minimalDocument } from '../support/inventory';

const ROLE = 'arn:aws:iam::123456789012:role/etcd-backup';

function render(mechanism: string, withKubeadm: boolean) {
  const document = minimalDocument();
  document.storages.s3main.credentials = { workloadIdentity: { aws: { roleArn: ROLE, mechanism } } };
  if (!withKubeadm) delete document.clusters.alpha;
  document.clusters.beta.restores = [{ id: 'r1', snapshot: 'latest', confirm: 'beta' }];
  if (withKubeadm) document.clusters.alpha.restores = [{ id: 'r1', snapshot: 'latest', confirm: 'alpha' }];
  document.defaults.backup.drill = { enabled: true };
  return renderInventory(inventoryOf(document));
}

const objects = (files: Map<string, string>, prefix: string) =>
  Object.fromEntries([...files].filter(([path]) => path.startsWith(prefix) && path.endsWith('.yaml')).map(([path, text]) => [path.slice(path.lastIndexOf('/') + 1), parse(text)]));
const envNames = (container: any) => (container.env ?? []).map((variable: any) => variable.name);
const podOf = (cronJob: any) => cronJob.spec.jobTemplate.spec.template;

describe('projectedToken (kubeadm)', () => {
  const files = render('projectedToken', true);
  const alpha = objects(files, 'alpha/');

  it('mounts a token of audience sts.amazonaws.com into the upload container only, with AWS_ROLE_ARN and the token file', () => {
    const template = podOf(alpha['cronjob-alpha-etcd-backup.yaml']);
    expect(template.spec.volumes).toContainEqual({
      name: 'aws-identity-token',
      projected: { defaultMode: 0o444, sources: [{ serviceAccountToken: { audience: 'sts.amazonaws.com', expirationSeconds: 3600, path: 'token' } }] },
    });
    const [upload] = template.spec.containers;
    expect(upload.volumeMounts).toContainEqual({ name: 'aws-identity-token', mountPath: '/var/run/secrets/controlplane-backup/aws', readOnly: true });
    expect(upload.env).toEqual(expect.arrayContaining([
      { name: 'AWS_ROLE_ARN', value: ROLE },
      { name: 'AWS_WEB_IDENTITY_TOKEN_FILE', value: '/var/run/secrets/controlplane-backup/aws/token' },
    ]));
    const [snapshot] = template.spec.initContainers;
    expect(snapshot.volumeMounts.map((mount: any) => mount.name)).not.toContain('aws-identity-token');
    expect(envNames(snapshot)).not.toContain('AWS_ROLE_ARN');
  });

  it('references no key Secret, and the plan has no credential env', () => {
    const upload = podOf(alpha['cronjob-alpha-etcd-backup.yaml']).spec.containers[0];
    expect(JSON.stringify(upload.env)).not.toContain('secretKeyRef');
    const config = Object.values(alpha).find((object: any) => object.kind === 'ConfigMap' && object.data?.['backup-plan.json']) as any;
    const plan = JSON.parse(config.data['backup-plan.json']);
    expect(plan.destinations[0].credentials).toBeNull();
  });

  it('gives the kubeadm restore pods the token too (they run as the backup ServiceAccount)', () => {
    const restore = [...files].find(([path]) => path.startsWith('alpha/') && path.includes('restore') && path.includes('job-'));
    expect(restore, [...files.keys()].join('\n')).toBeDefined();
    const job = parse(restore![1]);
    expect(job.spec.template.spec.containers[0].volumeMounts).toContainEqual({ name: 'aws-identity-token', mountPath: '/var/run/secrets/controlplane-backup/aws', readOnly: true });
  });

  it('names the credential kind in SUMMARY.md', () => {
    expect(files.get('SUMMARY.md')).toContain('credentials `workloadIdentity:aws-projectedToken`: workload identity arn:aws:iam::123456789012:role/etcd-backup; you create the IAM role');
  });
});

describe('irsa (hosted)', () => {
  const files = render('irsa', false);
  const beta = objects(files, 'beta/');

  it('annotates the backup, drill and restore coordinator ServiceAccounts with the role', () => {
    const accounts = Object.entries(beta).filter(([, object]) => object.kind === 'ServiceAccount');
    expect(accounts.map(([name]) => name).sort()).toEqual(['serviceaccount-beta-etcd-backup.yaml', 'serviceaccount-beta-etcd-drill.yaml', 'serviceaccount-beta-restore-r1.yaml']);
    for (const [, account] of accounts) expect(account.metadata.annotations['eks.amazonaws.com/role-arn']).toBe(ROLE);
  });

  it('keeps the webhook\'s credentials out of the snapshot container, mounts no token itself', () => {
    const template = podOf(beta['cronjob-beta-etcd-backup.yaml']);
    expect(template.metadata.annotations).toEqual({ 'eks.amazonaws.com/skip-containers': 'snapshot' });
    expect(template.spec.volumes.map((volume: any) => volume.name)).not.toContain('aws-identity-token');
  });

  it('opens egress to STS (443) in the NetworkPolicy', () => {
    const policy = Object.values(beta).find((object: any) => object.kind === 'NetworkPolicy') as any;
    expect(JSON.stringify(policy.spec.egress)).toContain('443');
  });
});

describe('podIdentity (hosted)', () => {
  it('opens egress to the Pod Identity agent (80) and annotates nothing', () => {
    const beta = objects(render('podIdentity', false), 'beta/');
    const policy = Object.values(beta).find((object: any) => object.kind === 'NetworkPolicy') as any;
    expect(JSON.stringify(policy.spec.egress)).toContain('"port":80');
    expect(beta['serviceaccount-beta-etcd-backup.yaml'].metadata.annotations?.['eks.amazonaws.com/role-arn']).toBeUndefined();
  });
});

describe('workload identity for the backups, a key Secret for the prune CronJob', () => {
  const document = minimalDocument();
  document.storages.s3main.credentials = { workloadIdentity: { aws: { roleArn: ROLE, mechanism: 'projectedToken' } } };
  document.storages.s3main.pruneCredentials = { existingSecret: { name: 's3-prune' } };
  const alpha = objects(renderInventory(inventoryOf(document)), 'alpha/');
  const config = alpha['configmap-alpha-backup-config.yaml'].data;
  const destination = (file: string) => JSON.parse(config[file]).destinations[0];

  it('the prune pod reads the prune Secret with the keys\' env names in its plan, and gets no token of the backups\' role', () => {
    const prune = podOf(alpha['cronjob-alpha-etcd-prune.yaml']);
    expect(prune.spec.volumes.map((volume: any) => volume.name)).not.toContain('aws-identity-token');
    const [container] = prune.spec.containers;
    expect(envNames(container)).not.toContain('AWS_ROLE_ARN');
    const { credentials, identity } = destination('prune-plan.json');
    expect(identity).toBeUndefined();
    expect(container.env.find((variable: any) => variable.name === credentials.accessKeyIdEnv).valueFrom.secretKeyRef).toEqual({ name: 's3-prune', key: 'AWS_ACCESS_KEY_ID' });
  });

  it('the backup keeps its workload identity and leaves retention to the prune CronJob', () => {
    expect(destination('backup-plan.json')).toMatchObject({ credentials: null, identity: 'aws-projectedToken', retentionBy: 'pruneJob' });
    expect(envNames(podOf(alpha['cronjob-alpha-etcd-backup.yaml']).spec.containers[0])).toContain('AWS_ROLE_ARN');
  });
});
