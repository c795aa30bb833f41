// Issue 13 item 5 (the agent's own guard) and issue 15 item 1: before the first request, the agent refuses an http
// endpoint its plan does not allow, and says which piece of a workload identity the pod lacks. Both exit 3.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../lib/agent/exit-codes';
import { runAgent } from '../../lib/agent/run';
import { testBackupPlan } from '../support/agent';

const dir = mkdtempSync(join(tmpdir(), 'cpb-guards-'));
const retention = { keepLast: 1, maxAgeHours: 0, hourly: 0, daily: 0, weekly: 0, monthly: 0 };
const s3 = { name: 'offsite', kind: 's3', endpoint: 'http://127.0.0.1:1', region: 'us-east-1', pathStyle: true, bucket: 'b', folder: 'prod-1', credentials: null, caFile: null, sse: null, retention };

async function prune(destination: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) {
  const file = join(dir, `plan-${Math.random()}.json`);
  writeFileSync(file, JSON.stringify(testBackupPlan({ cluster: 'prod-1', snapshotFile: join(dir, 'snapshot.db'), destinations: [destination as never] })));
  const out: string[] = [];
  const code = await runAgent(['prune', '--plan', file], { out: (text) => out.push(text), err: () => undefined }, { PATH: process.env.PATH, ...env });
  return { code, result: JSON.parse(out.join('')) };
}

describe('the agent refuses an http endpoint its plan does not allow', () => {
  it('fails with exit 3 before any request when `insecure` is absent or false', async () => {
    for (const insecure of [undefined, false]) {
      const { code, result } = await prune({ ...s3, ...(insecure === undefined ? {} : { insecure }) });
      expect(code).toBe(EXIT.config);
      expect(result.message).toBe('destination offsite: refusing to send credentials in clear to http://127.0.0.1:1: the plan does not allow plain http: '
        + 'use an https endpoint, or set `insecure: true` on the storage in the inventory and synthesize again');
    }
  });

  it('lets an insecure storage through to the store (which is unreachable here: exit 4, not 3)', async () => {
    const { code } = await prune({ ...s3, insecure: true }, { AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y' });
    expect(code).toBe(EXIT.storage);
  });
});

describe('the agent says what a workload identity lacks', () => {
  const identity = { ...s3, endpoint: 'https://127.0.0.1:1', identity: 'aws-projectedToken' };

  it('fails with exit 3 when the token file is not mounted', async () => {
    const { code, result } = await prune(identity, { AWS_ROLE_ARN: 'arn:aws:iam::123456789012:role/r', AWS_WEB_IDENTITY_TOKEN_FILE: join(dir, 'no-token') });
    expect(code).toBe(EXIT.config);
    expect(result.message).toBe(`destination offsite uses workload identity aws-projectedToken, but the web identity token ${join(dir, 'no-token')} `
      + '(AWS_WEB_IDENTITY_TOKEN_FILE) cannot be read (ENOENT): the projected ServiceAccount token volume is not mounted into this container');
  });

  it('names the env var IRSA\'s webhook did not set, and what Pod Identity needs', async () => {
    expect((await prune({ ...identity, identity: 'aws-irsa' })).result.message).toBe('destination offsite uses workload identity aws-irsa, but AWS_ROLE_ARN is not set '
      + '(the EKS pod identity webhook sets it from the ServiceAccount\'s eks.amazonaws.com/role-arn annotation: check the annotation and that the webhook runs)');
    expect((await prune({ ...identity, identity: 'aws-podIdentity' })).result.message).toBe('destination offsite uses workload identity aws-podIdentity, but '
      + 'AWS_CONTAINER_CREDENTIALS_FULL_URI is not set: the EKS Pod Identity webhook injects it only when a pod identity association names this ServiceAccount '
      + '(aws eks create-pod-identity-association) and the eks-pod-identity-agent add-on runs');
  });
});

describe('the agent says what an Azure workload identity lacks', () => {
  const azure = {
    name: 'blob', kind: 'azureBlob', account: 'acmebackups', container: 'etcd', folder: 'prod-1', endpoint: 'https://127.0.0.1:1/acmebackups',
    connectionStringEnv: null, clientId: '11111111-2222-3333-4444-555555555555', tenantId: null, authenticatesAs: 'Azure workload identity 11111111-2222-3333-4444-555555555555', retention,
  };

  it('fails with exit 3 naming the webhook\'s env var, or its token file, before any request', async () => {
    const missing = await prune(azure);
    expect(missing.code).toBe(EXIT.config);
    expect(missing.result.message).toBe('destination blob uses workload identity azure-workloadIdentity, but AZURE_FEDERATED_TOKEN_FILE is not set (the Azure Workload Identity webhook '
      + 'sets it when the pod has the label azure.workload.identity/use: "true" and its ServiceAccount the annotation azure.workload.identity/client-id: check both, and that the webhook runs)');
    const unreadable = await prune(azure, { AZURE_FEDERATED_TOKEN_FILE: join(dir, 'no-azure-token') });
    expect(unreadable.result.message).toBe(`destination blob uses workload identity azure-workloadIdentity, but the federated token ${join(dir, 'no-azure-token')} `
      + '(AZURE_FEDERATED_TOKEN_FILE) cannot be read (ENOENT): the webhook did not mount it into this container');
  });

  it('refuses a plain http endpoint its plan does not allow', async () => {
    const { code, result } = await prune({ ...azure, endpoint: 'http://127.0.0.1:1/acmebackups', connectionStringEnv: 'CONN' }, { CONN: 'x' });
    expect(code).toBe(EXIT.config);
    expect(result.message).toContain('destination blob: refusing to send credentials in clear to http://127.0.0.1:1/acmebackups');
  });
});
