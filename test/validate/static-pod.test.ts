// What a static pod may not use (the kubelet runs it with no API server; NodeRestriction refuses such mirror pods).
import { describe, expect, it } from 'vitest';
import { isStaticPodFile, staticPodIssues } from '../../lib/validate/static-pod';

const pod = (spec: Record<string, unknown>) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'kube-system' }, spec: { automountServiceAccountToken: false, containers: [{ name: 'c', image: 'i' }], ...spec } });

describe('static pod limits', () => {
  it('accepts hostPath and emptyDir volumes and literal env', () => {
    expect(staticPodIssues(pod({ volumes: [{ name: 'a', hostPath: { path: '/x' } }, { name: 'b', emptyDir: {} }], containers: [{ name: 'c', env: [{ name: 'A', value: '1' }] }] }))).toEqual([]);
  });

  it('fails on every reference to an API object, each at its path', () => {
    const issues = staticPodIssues(pod({
      serviceAccountName: 'backup',
      automountServiceAccountToken: undefined,
      volumes: [{ name: 'plan', configMap: { name: 'x' } }, { name: 'key', secret: { secretName: 'y' } }],
      containers: [{ name: 'c', envFrom: [{ secretRef: { name: 's' } }], env: [{ name: 'K', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }] }],
    }));
    expect(issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      'spec.volumes[0].configMap: volume "plan" is a configMap volume; a static pod runs without the API server: use a hostPath (or emptyDir)',
      'spec.volumes[1].secret: volume "key" is a secret volume; a static pod runs without the API server: use a hostPath (or emptyDir)',
      'spec.serviceAccountName: refers to ServiceAccount "backup"; a static pod runs without the API server: leave it out',
      'spec.automountServiceAccountToken: must be false: a static pod runs without the API server and has no token to mount',
      'spec.containers[0].envFrom[0]: container "c" reads env from an API object; a static pod runs without the API server',
      'spec.containers[0].env[0].valueFrom: env K of container "c" comes from a Secret; a static pod runs without the API server: pass it in a file on the node',
    ]);
  });

  it('fails if the manifest is not a v1 Pod', () => {
    expect(staticPodIssues({ apiVersion: 'batch/v1', kind: 'Job' }).map((i) => i.message)).toEqual(['a static pod manifest must be a v1 Pod (found batch/v1 Job)']);
  });

  it('knows static pods by their folder', () => {
    expect(isStaticPodFile('prod/restore-r1/static-pods/cp-1.yaml')).toBe(true);
    expect(isStaticPodFile('prod/restore-r1/job-prod-restore-r1-cp-1.yaml')).toBe(false);
  });
});
