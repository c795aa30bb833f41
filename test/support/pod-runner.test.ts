import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync, readFileSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { startNetns, NetNs } from './netns';
import { runPod, expandK8s, SERVICE_ACCOUNT_PATH } from './pod-runner';
import { mkTemp, rmTemp } from './proc';
import { TEST_TOOLS_IMAGE } from './roots';

const TOOLS = TEST_TOOLS_IMAGE;
const ETCD = 'registry.k8s.io/etcd:3.5.21-0';

let tmp: string;
let netns: NetNs;
beforeAll(async () => {
  tmp = mkTemp('podrunner');
  netns = await startNetns(120);
});
afterAll(async () => {
  await netns?.stop();
  rmTemp(tmp);
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
        // The image has no shell: node programs stand in. $(GREETING) in args is expanded by the runner, as by the kubelet.
        name: 'first', image: TOOLS, command: ['node', '-e'],
        args: ['const fs = require("fs"); fs.writeFileSync("/var/lib/cpb-test/scratch/out", `${process.argv[1]} ${process.env.NODE} ${process.env.PASSWORD}\\n`); '
          + 'try { fs.writeFileSync("/etc/cpb-test-ro/x", ""); console.log("writable"); } catch { console.log("readonly"); }', '$(GREETING)'],
        env: [{ name: 'GREETING', value: 'hi' }, { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
          { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'creds', key: 'password' } } }],
        volumeMounts: [{ name: 'scratch', mountPath: '/var/lib/cpb-test/scratch' }, { name: 'hostdir', mountPath: '/etc/cpb-test-ro', readOnly: true }],
      }],
      containers: [{
        name: 'main', image: TOOLS, command: ['node', '/opt/cpb-test/run.js'],
        env: [{ name: 'CM', valueFrom: { configMapKeyRef: { name: 'settings', key: 'mode' } } }],
        volumeMounts: [{ name: 'scripts', mountPath: '/opt/cpb-test' }, { name: 'scratch', mountPath: '/var/lib/cpb-test/scratch' },
          { name: 'creds', mountPath: '/var/run/cpb-test/creds', readOnly: true }],
      }],
    };
    const run = ['const fs = require("fs");', 'process.stdout.write(fs.readFileSync("/var/lib/cpb-test/scratch/out", "utf8"));', 'console.log(`cm=${process.env.CM}`);',
      'console.log(fs.readFileSync("/var/run/cpb-test/creds/tls.crt", "utf8"));', 'console.log(fs.readdirSync("/var/run/cpb-test/creds").join(" "));',
      'console.log(Object.keys(process.env).sort().map((k) => `${k}=${process.env[k]}`).join(" "));'].join('\n');
    const configMaps = { scripts: { 'run.js': run }, settings: { mode: 'fast' } };
    const secrets = { creds: { password: 's3cret', 'tls.crt': 'CERT' } };
    const res = await runPod({ podSpec, netns, volumes: { hostdir: host }, configMaps, secrets, nodeName: 'node-7', workDir: join(tmp, 'pod') });
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
    const failing = { ...podSpec, initContainers: [{ name: 'fail', image: TOOLS, command: ['node', '-e', 'console.error("boom"); process.exit(3)'] }] };
    const res2 = await runPod({ podSpec: failing, netns, volumes: { hostdir: host }, configMaps, secrets, nodeName: 'n', workDir: join(tmp, 'pod2') });
    expect(res2.ok).toBe(false);
    expect(res2.results.map((r) => [r.name, r.exitCode])).toEqual([['fail', 3]]);
    expect(res2.results[0].stderr).toContain('boom');
  });

  it('mounts the service account (unless automountServiceAccountToken is false), a generated /etc/hosts and extra mounts', async () => {
    const extra = join(tmp, 'extra');
    mkdirSync(extra);
    writeFileSync(join(extra, 'f'), 'extra\n');
    // As the agent would: node's resolver (the generated /etc/hosts) and plain file reads.
    const script = `const fs = require("fs"); const read = (p) => { try { return fs.readFileSync(p, "utf8"); } catch { return null; } };
      require("dns").lookup("kubernetes.default.svc", (error, address) => {
        console.log(read("${SERVICE_ACCOUNT_PATH}/token") ?? "no-token"); console.log(read("${SERVICE_ACCOUNT_PATH}/namespace") ?? "");
        console.log(error ? "unresolved" : \`\${address} kubernetes.default.svc\`); process.stdout.write(read("/var/run/cpb-test-extra/f"));
        try { fs.writeFileSync("/var/run/cpb-test-extra/x", ""); console.log("writable"); } catch { console.log("readonly"); }
      });`;
    const podSpec = { containers: [{ name: 'c', image: TOOLS, command: ['node', '-e', script] }] };
    const o = {
      netns, serviceAccount: { token: 'tok-123', caCert: 'CA', namespace: 'ns-1' }, hosts: { 'kubernetes.default.svc': '127.0.2.1' },
      extraMounts: [{ hostPath: extra, mountPath: '/var/run/cpb-test-extra', readOnly: true }],
    };
    const res = await runPod({ ...o, podSpec, workDir: join(tmp, 'pod-sa') });
    expect(res.results[0].exitCode, res.results[0].stderr).toBe(0);
    expect(res.results[0].stdout.split('\n')).toEqual(['tok-123', 'ns-1', '127.0.2.1 kubernetes.default.svc', 'extra', 'readonly', '']);
    expect(existsSync(join(extra, 'x'))).toBe(false);
    const off = await runPod({ ...o, podSpec: { ...podSpec, automountServiceAccountToken: false }, workDir: join(tmp, 'pod-no-sa') });
    expect(off.results[0].stdout.split('\n')[0]).toBe('no-token');
  });

  it('runs each container in the root of its image: the etcd image has no shell, the tools image has the agent', async () => {
    const podSpec = {
      initContainers: [
        { name: 'etcdutl', image: ETCD, command: ['etcdutl', 'version'] },
        { name: 'no-shell', image: ETCD, command: ['/bin/sh', '-c', 'true'] },
      ],
      containers: [],
    };
    const res = await runPod({ podSpec, workDir: join(tmp, 'pod-images') });
    expect(res.results[0].stdout).toMatch(/^etcdutl version: 3\.5\.\d+$/m);
    expect(res.results[0].user).toEqual({ uid: 0, gid: 0, groups: [0] });
    expect(res.results[1].exitCode).not.toBe(0);
    expect(res.results[1].stderr).toMatch(/\/bin\/sh.*No such file or directory/);
    // The agent without a plan: its own usage error and result line, from the image's node, as the image's user.
    const agent = await runPod({ podSpec: { containers: [{ name: 'agent', image: TOOLS, command: ['controlplane-backup', 'agent', 'backup'] }] }, workDir: join(tmp, 'pod-agent') });
    expect(agent.results[0].exitCode, agent.results[0].stderr).toBe(3);
    expect(JSON.parse(agent.results[0].stdout.trim().split('\n').pop()!)).toMatchObject({ exitCode: 3 });
    expect(agent.results[0].user).toEqual({ uid: 65532, gid: 65532, groups: [65532] });
    await expect(runPod({ podSpec: { containers: [{ name: 'x', image: 'docker.io/library/busybox:1', command: ['true'] }] } }))
      .rejects.toThrow(/no root filesystem for image "docker.io\/library\/busybox:1"/);
  });

  it('enforces runAsUser, runAsGroup, fsGroup and readOnlyRootFilesystem as the kubelet does', async () => {
    const script = ['const fs = require("fs"); const out = [process.getuid(), process.getgid(),',
      '  [process.getegid(), ...process.getgroups().filter((g) => g !== process.getegid())].join(" ")];',
      'fs.writeFileSync("/var/run/x/f", ""); out.push("scratch-ok"); const st = fs.statSync("/var/run/x"); out.push(`${(st.mode & 0o7777).toString(8)} ${st.gid}`);',
      'try { out.push(`${fs.readFileSync("/var/run/s/key", "utf8")}secret-ok`); } catch (e) { console.error(e.message); }',
      'try { fs.writeFileSync("/etc/x", ""); } catch { out.push("root-ro"); }',
      'try { fs.mkdtempSync("/tmp/x"); } catch { out.push("tmp-ro"); }',
      'fs.mkdtempSync("/var/run/x/t"); out.push("tmpdir-ok"); console.log(out.join("\\n"));'].join('\n');
    const podSpec = {
      securityContext: { runAsUser: 1000, runAsGroup: 1000, runAsNonRoot: true, fsGroup: 2000 },
      volumes: [{ name: 'scratch', emptyDir: {} }, { name: 's', secret: { secretName: 's', defaultMode: 0o400 } }],
      containers: [{
        name: 'c', image: TOOLS, command: ['node', '-e', script],
        securityContext: { runAsUser: 4000, readOnlyRootFilesystem: true },
        volumeMounts: [{ name: 'scratch', mountPath: '/var/run/x' }, { name: 's', mountPath: '/var/run/s', readOnly: true }],
      }],
    };
    const res = await runPod({ podSpec, secrets: { s: { key: 'k' } }, workDir: join(tmp, 'pod-sec') });
    const r = res.results[0];
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout.split('\n')).toEqual(['4000', '1000', '1000 2000', 'scratch-ok', '2777 2000', 'ksecret-ok', 'root-ro', 'tmp-ro', 'tmpdir-ok', '']);
    // without fsGroup, a 0400 Secret file stays root's: the container's user cannot read it
    const noFs = { ...podSpec, securityContext: { runAsUser: 1000, runAsGroup: 1000 } };
    const res2 = await runPod({ podSpec: noFs, secrets: { s: { key: 'k' } }, workDir: join(tmp, 'pod-sec2') });
    expect(res2.results[0].stdout).not.toContain('secret-ok');
    expect(res2.results[0].stderr).toMatch(/permission denied/i);
    expect(statSync(res2.volumeDirs.scratch).mode & 0o7777).toBe(0o777);
  });

  it('refuses to start a container that would run as root under runAsNonRoot, with the kubelet\'s message', async () => {
    const base = { securityContext: { runAsNonRoot: true }, containers: [{ name: 'c', image: ETCD, command: ['etcdctl', 'version'] }] };
    const res = await runPod({ podSpec: base, podName: 'p-1', namespace: 'ns', workDir: join(tmp, 'pod-nonroot') });
    expect(res.ok).toBe(false);
    expect(res.results[0].refused).toBe('Error: container has runAsNonRoot and image will run as root (pod: "p-1_ns(00000000-0000-0000-0000-000000000000)", container: c)');
    const explicit = { ...base, containers: [{ ...base.containers[0], securityContext: { runAsUser: 0 } }] };
    const res2 = await runPod({ podSpec: explicit, podName: 'p-1', namespace: 'ns', workDir: join(tmp, 'pod-nonroot2') });
    expect(res2.results[0].refused).toBe('Error: container\'s runAsUser breaks non-root policy (pod: "p-1_ns(00000000-0000-0000-0000-000000000000)", container: c)');
    expect(res2.results[0].exitCode).toBeNull();
  });
});
