// RUNBOOK.md of a kubeadm restore, read as the on-call engineer with the API server down: every step of the static-pod
// path is a command for this restore's nodes and paths, and none of it needs kubectl.
import { describe, expect, it } from 'vitest';
import { renderInventory } from '../../lib/synth/render';
import { inventoryOf, minimalDocument } from '../support/inventory';

function runbookOf(edit: (document: Record<string, any>) => void = () => undefined): string {
  const document = minimalDocument();
  document.clusters.alpha.kubeadm.members = [{ name: 'cp-1', ip: '10.0.0.1' }, { name: 'cp-2', ip: '10.0.0.2' }, { name: 'cp-3', ip: '10.0.0.3' }];
  document.clusters.alpha.restores = [{ id: 'r1', snapshot: 'etcd/alpha/alpha-20261120T020000Z.db.zst.age', confirm: 'alpha-20261120T020000Z', pki: true }];
  edit(document);
  return renderInventory(inventoryOf(document)).get('alpha/restore-r1/RUNBOOK.md')!;
}

const section = (text: string, from: string, to: string) => text.slice(text.indexOf(from), text.indexOf(to));

describe('kubeadm RUNBOOK.md', () => {
  const runbook = runbookOf();
  const staticPath = section(runbook, '## A. Static pods', '## B. Jobs');

  it('walks the disaster (API server down) through the static pods without kubectl', () => {
    expect(runbook.indexOf('## A. Static pods (the API server is down)')).toBeLessThan(runbook.indexOf('## B. Jobs (the API server is up)'));
    expect(staticPath).not.toContain('kubectl');
    for (const [name, ip] of [['cp-1', '10.0.0.1'], ['cp-2', '10.0.0.2'], ['cp-3', '10.0.0.3']]) {
      expect(staticPath).toContain(`scp backup.key storage.env static-pods/${name}.yaml ${ip}:/tmp/\n`);
      expect(staticPath).toContain(`ssh ${ip} 'sudo install -d -m 0700 /etc/kubernetes/restore-r1 && sudo install -m 0600 /tmp/backup.key /etc/kubernetes/restore-r1/identity.txt && sudo install -m 0600 /tmp/storage.env /etc/kubernetes/restore-r1/storage.env && rm -f /tmp/backup.key /tmp/storage.env'`);
      expect(staticPath).toContain(`ssh ${ip} 'sudo install -m 0600 /tmp/${name}.yaml /etc/kubernetes/manifests/.controlplane-backup-restore-r1.yaml.part && sudo mv /etc/kubernetes/manifests/.controlplane-backup-restore-r1.yaml.part /etc/kubernetes/manifests/controlplane-backup-restore-r1.yaml'   # ${name}`);
      expect(staticPath).toContain(`ssh ${ip} 'sudo crictl logs -f $(sudo crictl ps -a -q --name restore | head -n 1)'`);
      expect(staticPath).toContain(`ssh ${ip} 'sudo cat /var/lib/etcd/.controlplane-backup-restore-r1.result.json; ls /etc/kubernetes/manifests'   # ${name}`);
      expect(staticPath).toContain(`ssh ${ip} 'sudo rm -rf /etc/kubernetes/restore-r1 /tmp/${name}.yaml'   # ${name}`);
    }
    // the credentials file: the variable names the plan expects, where the Job would take them from, no value
    expect(staticPath).toContain('- `CPB_S3MAIN_ACCESS_KEY_ID`: key `AWS_ACCESS_KEY_ID` of Secret `s3-creds`');
    expect(staticPath).toContain("cat > storage.env <<'EOF'\nCPB_S3MAIN_ACCESS_KEY_ID=\nCPB_S3MAIN_SECRET_ACCESS_KEY=\nEOF");
  });

  it('says where the result is once the pod is gone, for both paths', () => {
    expect(section(runbook, '## B. Jobs', '## Verify')).toContain('the kubelet stops each pod, often while it waits for etcd\'s health, and the Jobs disappear: that is expected. The result outlives them: on each node in `/var/lib/etcd/.controlplane-backup-restore-r1.result.json`');
    expect(runbook).toContain('and in the storage as `s3://backups/etcd/alpha/restores/r1/<member>.result.json`');
  });

  it('rolls back on every node over ssh, and says what to restart when the revision was not bumped', () => {
    expect(section(runbook, '## Roll back', '\nRemove')).toContain("ssh 10.0.0.2 'sudo mv /var/lib/etcd/member /var/lib/etcd/member.restored-r1 && sudo mv /var/lib/etcd/member.before-restore-r1 /var/lib/etcd/member && sudo cp -a /etc/kubernetes/pki/.before-restore-r1/. /etc/kubernetes/pki/ && sudo mv /etc/kubernetes/manifests/.etcd.yaml.rollback /etc/kubernetes/manifests/etcd.yaml'");
    expect(runbook).toContain(`ssh 10.0.0.3 'sudo crictl stop $(sudo crictl ps -q --name "kube-apiserver|kube-controller-manager|kube-scheduler")'   # cp-3`);
    expect(runbook).toContain('for node in $(kubectl get nodes -o name | cut -d/ -f2); do ssh "$node" sudo systemctl restart kubelet; done');
  });

  it('restores onto replaced nodes when the request names them, and says to update the inventory', () => {
    const replaced = runbookOf((document) => { document.clusters.alpha.restores[0].members = [{ name: 'cp-9', ip: '10.0.9.9' }]; });
    expect(replaced).toContain('| `cp-9` | `10.0.9.9` | `https://10.0.9.9:2380` |');
    expect(replaced).toContain('These are the request\'s `members` (replaced control-plane nodes), not `kubeadm.members` of the inventory.');
    expect(replaced).toContain('set `kubeadm.members` in the inventory to these nodes');
    expect(replaced).not.toContain('10.0.0.1');
  });
});
