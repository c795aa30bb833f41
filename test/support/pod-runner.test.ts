import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync, readFileSync, existsSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { startNetns, NetNs } from './netns';
import { runPod, expandK8s, SERVICE_ACCOUNT_PATH } from './pod-runner';
import { mkTemp, rmTemp } from './proc';

let tmp: string;
let netns: NetNs;
beforeAll(async () => {
  tmp = mkTemp('podrunner');
  netns = await startNetns(120);
});
afterAll(async () => {
  await netns?.stop();
  rmTemp(tmp);
  // empty mount points the runner created on the host for this test's paths. Not the service-account path: other test
  // files' pods mount it at the same time, and removing a mount point on the host detaches it in their namespaces.
  for (const d of ['/var/lib/cpb-test/scratch', '/var/lib/cpb-test', '/etc/cpb-test-ro', '/opt/cpb-test', '/var/run/cpb-test/creds', '/var/run/cpb-test',
    '/var/run/cpb-test-extra']) {
    try { rmdirSync(d); } catch { /* not empty or gone */ }
  }
});

describe('pod-runner', () => {
  it('expands $(VAR) like Kubernetes', () => {
    expect(expandK8s('a $(X) $$(X) $(NOPE)', { X: '1' })).toBe('a 1 $(X) $(NOPE)');
  });

  it('resolves env, mounts volumes at real paths, honours readOnly, stops at a failing init container', async () => {
    const host = join(tmp, 'host');
    mkdirSync(host);
    writeFileSync(join(host, 'hello'), 'from host\n');
    const podSpec = {
      activeDeadlineSeconds: 30,
      volumes: [
        { name: 'scratch', emptyDir: {} },
        { name: 'hostdir', hostPath: { path: '/etc/kubernetes/pki' } },
        { name: 'scripts', configMap: { name: 'scripts', defaultMode: 0o555 } },
        { name: 'creds', secret: { secretName: 'creds', items: [{ key: 'tls.crt', path: 'tls.crt' }] } },
      ],
      initContainers: [{
        name: 'first', command: ['/bin/sh', '-c'], args: ['echo "$(GREETING) $NODE $PASSWORD" > /var/lib/cpb-test/scratch/out; touch /etc/cpb-test-ro/x 2>/dev/null && echo writable || echo readonly'],
        env: [{ name: 'GREETING', value: 'hi' }, { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
          { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'creds', key: 'password' } } }],
        volumeMounts: [{ name: 'scratch', mountPath: '/var/lib/cpb-test/scratch' }, { name: 'hostdir', mountPath: '/etc/cpb-test-ro', readOnly: true }],
      }],
      containers: [{
        name: 'main', command: ['/bin/sh', '/opt/cpb-test/run.sh'],
        env: [{ name: 'CM', valueFrom: { configMapKeyRef: { name: 'settings', key: 'mode' } } }],
        volumeMounts: [{ name: 'scripts', mountPath: '/opt/cpb-test' }, { name: 'scratch', mountPath: '/var/lib/cpb-test/scratch' },
          { name: 'creds', mountPath: '/var/run/cpb-test/creds', readOnly: true }],
      }],
    };
    const configMaps = { scripts: { 'run.sh': 'cat /var/lib/cpb-test/scratch/out; echo "cm=$CM"; cat /var/run/cpb-test/creds/tls.crt; ls -a /var/run/cpb-test/creds | tr "\\n" " "; env | sort | tr "\\n" " "\n' }, settings: { mode: 'fast' } };
    const secrets = { creds: { password: 's3cret', 'tls.crt': 'CERT' } };
    const res = await runPod({ podSpec, netns, volumes: { hostdir: host }, configMaps, secrets, nodeName: 'node-7', workDir: join(tmp, 'pod'), shell: 'busybox' });
    expect(res.results.map((r) => [r.name, r.exitCode])).toEqual([['first', 0], ['main', 0]]);
    expect(res.results[0].stdout.trim()).toBe('readonly');
    expect(existsSync(join(host, 'x'))).toBe(false);
    const out = res.results[1].stdout;
    expect(out).toContain('hi node-7 s3cret');
    expect(out).toContain('cm=fast');
    expect(out).toContain('CERT');
    expect(out).toMatch(/\.\.data/);
    expect(out).not.toMatch(/GREETING|PASSWORD/); // only the container's own env
    expect(readFileSync(join(res.volumeDirs.scratch, 'out'), 'utf8')).toBe('hi node-7 s3cret\n');

    // failing init container: main never runs
    const failing = { ...podSpec, initContainers: [{ name: 'fail', command: ['/bin/sh', '-c', 'echo boom >&2; exit 3'] }] };
    const res2 = await runPod({ podSpec: failing, netns, volumes: { hostdir: host }, configMaps, secrets, nodeName: 'n', workDir: join(tmp, 'pod2') });
    expect(res2.ok).toBe(false);
    expect(res2.results.map((r) => [r.name, r.exitCode])).toEqual([['fail', 3]]);
    expect(res2.results[0].stderr).toContain('boom');
  });

  it('mounts the service account (unless automountServiceAccountToken is false), a generated /etc/hosts and extra mounts', async () => {
    const extra = join(tmp, 'extra');
    mkdirSync(extra);
    writeFileSync(join(extra, 'f'), 'extra\n');
    const script = `cat ${SERVICE_ACCOUNT_PATH}/token 2>/dev/null && echo || echo no-token; cat ${SERVICE_ACCOUNT_PATH}/namespace 2>/dev/null; echo; `
      + 'getent hosts kubernetes.default.svc || echo unresolved; cat /var/run/cpb-test-extra/f; touch /var/run/cpb-test-extra/x 2>/dev/null && echo writable || echo readonly';
    const podSpec = { containers: [{ name: 'c', command: ['/bin/sh', '-c', script] }] };
    const o = {
      netns, serviceAccount: { token: 'tok-123', caCert: 'CA', namespace: 'ns-1' }, hosts: { 'kubernetes.default.svc': '127.0.2.1' },
      extraMounts: [{ hostPath: extra, mountPath: '/var/run/cpb-test-extra', readOnly: true }],
    };
    const res = await runPod({ ...o, podSpec, workDir: join(tmp, 'pod-sa') });
    expect(res.results[0].exitCode, res.results[0].stderr).toBe(0);
    expect(res.results[0].stdout.split('\n')).toEqual(['tok-123', 'ns-1', '127.0.2.1       kubernetes.default.svc', 'extra', 'readonly', '']);
    expect(existsSync(join(extra, 'x'))).toBe(false);
    const off = await runPod({ ...o, podSpec: { ...podSpec, automountServiceAccountToken: false }, workDir: join(tmp, 'pod-no-sa') });
    expect(off.results[0].stdout.split('\n')[0]).toBe('no-token');
  });
});
