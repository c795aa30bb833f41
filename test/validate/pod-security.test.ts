/** Issue 12 item 5: the Pod Security level of every synthesized pod, against its namespace's documented level. */
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { evaluatePodSecurity, formatPodSecurity, podSecurityFindings } from '../../lib/validate/pod-security';
import { renderInventory } from '../../lib/synth/render';
import { EXAMPLE, exampleDocument, inventoryOf } from '../support/inventory';

/** A pod that meets restricted: the starting point each case breaks one way. */
function restrictedPod(): any {
  return {
    spec: {
      securityContext: { runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [{ name: 'main', securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } }],
      volumes: [{ name: 'scratch', emptyDir: {} }, { name: 'config', configMap: { name: 'x' } }],
    },
  };
}
const levelAfter = (change: (pod: any) => void) => {
  const pod = restrictedPod();
  change(pod);
  const result = evaluatePodSecurity(pod);
  return [result.level, result.failures.map((f) => f.message)];
};

describe('Pod Security Standards checks', () => {
  it('a pod with every restricted control meets restricted', () => {
    expect(evaluatePodSecurity(restrictedPod())).toEqual({ level: 'restricted', failures: [] });
  });

  it('baseline: host namespaces, privileged, capabilities, hostPath, host ports, AppArmor, SELinux, procMount, seccomp, sysctls', () => {
    expect(levelAfter((p) => { p.spec.hostNetwork = true; })).toEqual(['privileged', ['host namespaces (hostNetwork=true)']]);
    expect(levelAfter((p) => { p.spec.containers[0].securityContext.privileged = true; })).toEqual(['privileged', ['privileged (container "main" must not set securityContext.privileged=true)']]);
    expect(levelAfter((p) => { p.spec.containers[0].securityContext.capabilities.add = ['SYS_ADMIN']; })).toEqual(['privileged', [
      'non-default capabilities (capabilities "SYS_ADMIN" must not be added)',
      'unrestricted capabilities (capabilities "SYS_ADMIN" must not be added)',
    ]]);
    expect(levelAfter((p) => { p.spec.volumes.push({ name: 'pki', hostPath: { path: '/etc/kubernetes/pki' } }); })).toEqual(['privileged', [
      'hostPath volumes (volume "pki")',
      'restricted volume types (volume "pki" must use one of configMap, csi, downwardAPI, emptyDir, ephemeral, persistentVolumeClaim, projected, secret)',
    ]]);
    expect(levelAfter((p) => { p.spec.containers[0].ports = [{ containerPort: 80, hostPort: 8080 }]; })[0]).toBe('privileged');
    expect(levelAfter((p) => { p.metadata = { annotations: { 'container.apparmor.security.beta.kubernetes.io/main': 'unconfined' } }; })[0]).toBe('privileged');
    expect(levelAfter((p) => { p.spec.securityContext.seLinuxOptions = { type: 'spc_t' }; })[0]).toBe('privileged');
    expect(levelAfter((p) => { p.spec.containers[0].securityContext.procMount = 'Unmasked'; })[0]).toBe('privileged');
    expect(levelAfter((p) => { p.spec.securityContext.seccompProfile = { type: 'Unconfined' }; })[0]).toBe('privileged');
    expect(levelAfter((p) => { p.spec.securityContext.sysctls = [{ name: 'kernel.msgmax', value: '1' }]; })[0]).toBe('privileged');
    expect(levelAfter((p) => { p.spec.securityContext.sysctls = [{ name: 'net.ipv4.tcp_syncookies', value: '1' }]; })[0]).toBe('restricted');
  });

  it('restricted: volume types, privilege escalation, non-root, uid 0, seccomp, capabilities', () => {
    expect(levelAfter((p) => { delete p.spec.containers[0].securityContext.allowPrivilegeEscalation; })).toEqual(['baseline', ['allowPrivilegeEscalation != false (container "main" must set securityContext.allowPrivilegeEscalation=false)']]);
    expect(levelAfter((p) => { delete p.spec.securityContext.runAsNonRoot; })).toEqual(['baseline', ['runAsNonRoot != true (container "main" must set securityContext.runAsNonRoot=true)']]);
    expect(levelAfter((p) => { p.spec.containers[0].securityContext.runAsUser = 0; })).toEqual(['baseline', ['runAsUser=0 (container "main" must not set runAsUser=0)']]);
    expect(levelAfter((p) => { delete p.spec.securityContext.seccompProfile; })).toEqual(['baseline', ['seccompProfile (pod or container "main" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")']]);
    expect(levelAfter((p) => { p.spec.containers[0].securityContext.capabilities = {}; })).toEqual(['baseline', ['unrestricted capabilities (container "main" must set securityContext.capabilities.drop=["ALL"])']]);
    expect(levelAfter((p) => { p.spec.containers[0].securityContext.capabilities.add = ['NET_BIND_SERVICE']; })[0]).toBe('restricted');
    expect(levelAfter((p) => { p.spec.volumes.push({ name: 'nfs', nfs: { server: 'x', path: '/' } }); })[0]).toBe('baseline');
  });
});

describe('the example output', () => {
  const files = renderInventory(inventoryOf(exampleDocument(), EXAMPLE));
  const documents = [...files].filter(([path]) => path.endsWith('.yaml') && !path.endsWith('kustomization.yaml')).map(([file, text]) => ({ file, object: parse(text) }));
  const findings = podSecurityFindings(documents);

  it('reports a level for every pod template, against privileged (kubeadm namespace) or restricted (tenant namespace)', () => {
    expect(findings.length).toBe(12);
    for (const finding of findings) expect(finding.enforced, finding.file).toBe(finding.file.startsWith('tenant-') ? 'restricted' : 'privileged');
    expect(formatPodSecurity(findings.find((f) => f.file === 'tenant-a/cronjob-tenant-a-etcd-backup.yaml')!))
      .toBe('tenant-a/cronjob-tenant-a-etcd-backup.yaml: CronJob tenant-a/tenant-a-etcd-backup: pod meets restricted; namespace tenant-a enforces restricted');
    expect(findings.find((f) => f.file === 'prod-eu-1/cronjob-prod-eu-1-etcd-backup.yaml')!.level).toBe('privileged');
  });

  it('admits every pod: backup, on-demand, drill and restore Jobs, the hosted ones at restricted', () => {
    expect(findings.filter((f) => !f.admitted).map(formatPodSecurity)).toEqual([]);
    for (const finding of findings.filter((f) => f.file.startsWith('tenant-'))) expect(finding.level, finding.file).toBe('restricted');
  });
});
