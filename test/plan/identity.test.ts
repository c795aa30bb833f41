/** Issue 15 item 1: workload identity for S3 (IRSA, a projected token, EKS Pod Identity): validation and what pods need. */
import { describe, expect, it } from 'vitest';
import { formatProblem } from '../../lib/inventory/errors';
import { parseInventory } from '../../lib/inventory/load';
import { credentialKind, mergeIdentity, podIdentity, storageIdentity } from '../../lib/plan/identity';
import { inventoryOf, minimalDocument, withToolsImage } from '../support/inventory';

const ROLE = 'arn:aws:iam::123456789012:role/etcd-backup';

function withIdentity(aws: Record<string, unknown>) {
  const document = minimalDocument();
  document.storages.s3main.credentials = { workloadIdentity: { aws } };
  return document;
}

/** An inventory text whose storage uses workload identity, and its problems as the user sees them. */
function problems(credentials: string, cluster = '  prod:\n    kubeadm:\n      members: [{ name: cp-1, ip: 10.0.0.1 }]\n'): string[] {
  const text = withToolsImage(`apiVersion: controlplane-backup.io/v1
kind: Inventory
storages:
  primary:
    s3: { endpoint: https://s3.eu-central-1.amazonaws.com, bucket: etcd-backups, region: eu-central-1 }
    credentials:
${credentials}
clusters:
${cluster}    backup:
      storages: [primary]
      encryption: { recipients: [age1xzcq5v8xm62cefatuwlqdcla6gp6pu7fw85q30nvf3xppuhtpgfsk9272a] }
`);
  const result = parseInventory(text, 'inventory.yaml');
  return result.ok ? [] : result.problems.map(formatProblem);
}

const HOSTED = `  prod:
    hosted:
      namespace: tenant-prod
      statefulSet: prod-etcd
      replicas: 1
      clientEndpoint: https://prod-etcd-client.tenant-prod.svc:2379
      clientCertSecret: { name: prod-etcd-certs }
      pkiSecrets: [prod-ca]
`;

describe('validation', () => {
  it('fails if the role ARN is not an IAM role ARN, at the value', () => {
    expect(problems('      workloadIdentity:\n        aws: { roleArn: "arn:aws:iam::1234:user/backup", mechanism: projectedToken }')).toEqual([
      'inventory.yaml:8:25: storages.primary.credentials.workloadIdentity.aws.roleArn: "arn:aws:iam::1234:user/backup" is not an IAM role ARN: expected "arn:aws:iam::<12-digit account id>:role/<role name>" (the role the pods assume)',
    ]);
  });

  it('fails if a kubeadm cluster uses IRSA or Pod Identity, saying why and what to use', () => {
    for (const mechanism of ['irsa', 'podIdentity']) {
      expect(problems(`      workloadIdentity:\n        aws: { roleArn: "${ROLE}", mechanism: ${mechanism} }`)).toEqual([
        `inventory.yaml:14:18: clusters.prod.backup.storages[0]: "primary" uses AWS workload identity "${mechanism}", which only EKS provides (its webhook or Pod Identity agent); `
        + 'the kubeadm cluster "prod" runs its backup pods on its own control-plane nodes, which EKS does not have: use `mechanism: projectedToken` with a role that trusts the cluster\'s service-account issuer',
      ]);
    }
  });

  it('accepts a projected token on kubeadm and every mechanism on a hosted cluster', () => {
    expect(problems(`      workloadIdentity:\n        aws: { roleArn: "${ROLE}", mechanism: projectedToken }`)).toEqual([]);
    for (const mechanism of ['irsa', 'podIdentity', 'projectedToken']) {
      expect(problems(`      workloadIdentity:\n        aws: { roleArn: "${ROLE}", mechanism: ${mechanism} }`, HOSTED)).toEqual([]);
    }
  });

  it('fails if workload identity names no provider, or comes with a key Secret', () => {
    expect(problems('      workloadIdentity: {}')).toEqual([
      'inventory.yaml:7:25: storages.primary.credentials.workloadIdentity: names no provider: set `aws` for an s3 storage',
    ]);
    expect(problems(`      existingSecret: { name: s3 }\n      workloadIdentity:\n        aws: { roleArn: "${ROLE}", mechanism: projectedToken }`)).toEqual([
      'inventory.yaml:8:7: storages.primary.credentials.workloadIdentity: credentials needs exactly one of `existingSecret`, `externalSecret`, `sealedSecret` or `workloadIdentity`; found both `existingSecret` and `workloadIdentity`',
    ]);
  });

  it('fails if the storages of one cluster assume different roles', () => {
    const document = withIdentity({ roleArn: ROLE, mechanism: 'projectedToken' });
    document.storages.other = { s3: { endpoint: 'https://s3.example.com', bucket: 'other' }, credentials: { workloadIdentity: { aws: { roleArn: `${ROLE}-2`, mechanism: 'projectedToken' } } } };
    document.defaults.backup.storages = ['s3main', 'other'];
    expect(() => inventoryOf(document)).toThrow('defaults.backup.storages[1]: "other" assumes arn:aws:iam::123456789012:role/etcd-backup-2 (projectedToken), but another storage of this list assumes arn:aws:iam::123456789012:role/etcd-backup (projectedToken); the pods of one cluster assume one AWS role: give both storages the same role (grant it both buckets)');
  });
});

describe('what the pods need', () => {
  it('IRSA: the role annotation on the ServiceAccount, credentials kept out of the other containers', () => {
    const document = withIdentity({ roleArn: ROLE, mechanism: 'irsa' });
    delete document.clusters.alpha; // kubeadm clusters reject irsa
    const storage = inventoryOf(document).storages.s3main;
    expect(credentialKind(storage)).toBe('workloadIdentity:aws-irsa');
    const needs = storageIdentity(storage)!;
    expect(needs.serviceAccountAnnotations).toEqual({ 'eks.amazonaws.com/role-arn': ROLE });
    expect(needs.skipContainers).toEqual({ annotation: 'eks.amazonaws.com/skip-containers', separator: ',' });
    expect(needs.projectedTokens).toEqual([]);
    expect(needs.egressPorts).toEqual([443]);
  });

  it('a projected token: the token volume of the audience, AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE', () => {
    const storage = inventoryOf(withIdentity({ roleArn: ROLE, mechanism: 'projectedToken', audience: 'backup.example.com' })).storages.s3main;
    expect(credentialKind(storage)).toBe('workloadIdentity:aws-projectedToken');
    const needs = storageIdentity(storage)!;
    expect(needs.serviceAccountAnnotations).toEqual({});
    expect(needs.projectedTokens).toEqual([{ volume: 'aws-identity-token', audience: 'backup.example.com', expirationSeconds: 3600, mountPath: '/var/run/secrets/controlplane-backup/aws', path: 'token' }]);
    expect(needs.env).toEqual([
      { name: 'AWS_ROLE_ARN', source: { value: ROLE } },
      { name: 'AWS_WEB_IDENTITY_TOKEN_FILE', source: { value: '/var/run/secrets/controlplane-backup/aws/token' } },
    ]);
    expect(storageIdentity(inventoryOf(withIdentity({ roleArn: ROLE, mechanism: 'projectedToken' })).storages.s3main)!.projectedTokens[0].audience).toBe('sts.amazonaws.com');
  });

  it('Pod Identity: nothing on the ServiceAccount (the association names it), egress to the agent on port 80', () => {
    const document = withIdentity({ roleArn: ROLE, mechanism: 'podIdentity' });
    delete document.clusters.alpha;
    const storage = inventoryOf(document).storages.s3main;
    const needs = storageIdentity(storage)!;
    expect(needs.serviceAccountAnnotations).toEqual({});
    expect(needs.env).toEqual([]);
    expect(needs.egressPorts).toEqual([80]);
    expect(needs.userCreates).toContain('pod identity association');
  });

  it('key Secrets and claims name their kind; two storages of one role make one set of needs', () => {
    const inventory = inventoryOf(minimalDocument());
    expect(credentialKind(inventory.storages.s3main)).toBe('existingSecret');
    expect(storageIdentity(inventory.storages.s3main)).toBeUndefined();
    const document = withIdentity({ roleArn: ROLE, mechanism: 'projectedToken' });
    document.storages.other = { s3: { endpoint: 'https://s3.example.com', bucket: 'other' }, credentials: { workloadIdentity: { aws: { roleArn: ROLE, mechanism: 'projectedToken' } } } };
    const both = inventoryOf(document);
    const merged = mergeIdentity(podIdentity([both.storages.s3main, both.storages.other]));
    expect(merged.projectedTokens).toHaveLength(1);
    expect(merged.env.map((variable) => variable.name)).toEqual(['AWS_ROLE_ARN', 'AWS_WEB_IDENTITY_TOKEN_FILE']);
  });
});

describe('the README example', () => {
  it('is a valid storage that a kubeadm cluster can use', async () => {
    const { readFileSync } = await import('node:fs');
    const readme = readFileSync('README.md', 'utf8');
    const section = readme.slice(readme.indexOf('#### S3 with workload identity'));
    const yaml = /```yaml\n([\s\S]*?)```/.exec(section)![1];
    const text = withToolsImage(`apiVersion: controlplane-backup.io/v1
kind: Inventory
${yaml}clusters:
  prod:
    kubeadm:
      members: [{ name: cp-1, ip: 10.0.0.1 }]
    backup:
      storages: [aws]
      encryption: { recipients: [age1xzcq5v8xm62cefatuwlqdcla6gp6pu7fw85q30nvf3xppuhtpgfsk9272a] }
`);
    const result = parseInventory(text, 'README.md');
    expect(result.ok ? [] : result.problems.map(formatProblem)).toEqual([]);
    if (result.ok) expect(credentialKind(result.inventory.storages.aws)).toBe('workloadIdentity:aws-projectedToken');
  });
});
