/** RUNBOOK.md of one restore request: what will happen, in which order, how to watch, verify and roll back. */
import type { Cluster } from '../inventory/model';
import { backupCronJobName, drillCronJobName, gitopsObjectName } from '../plan/names';
import type { RestorePlan } from '../plan/restore';

const code = (lines: string[]) => ['```sh', ...lines, '```'].join('\n');

/**
 * Hosted restores scale the tenant's StatefulSet and Deployments, which an operator or a GitOps tool other than ours
 * may own and scale back. Pausing those is the operator's step; ours is already paused by the request.
 */
function gitopsOwnersStep(cluster: Cluster): string[] {
  if (cluster.topology.kind !== 'hosted') return [];
  const { namespace, statefulSet } = cluster.topology;
  return [
    `   The restore scales StatefulSet \`${namespace}/${statefulSet}\` and the control-plane Deployments to 0 and back. If something else keeps them at their replica count (the tenant control plane's own Argo CD Application or Flux Kustomization / HelmRelease, an operator), pause it now, or it scales them back mid-restore:`,
    code([
      `kubectl -n ${namespace} get statefulset ${statefulSet} -o jsonpath='{.metadata.ownerReferences}{"\\n"}{.metadata.labels}{"\\n"}{.metadata.annotations}{"\\n"}'`,
      'argocd app set APP --sync-policy none                    # Argo CD: the Application that manages them',
      'flux suspend kustomization NAME -n NAMESPACE             # Flux: the Kustomization ...',
      'flux suspend helmrelease NAME -n NAMESPACE               # ... or HelmRelease that manages them',
    ]),
  ];
}

export function restoreRunbook(cluster: Cluster, plan: RestorePlan): string {
  const { request } = plan;
  const ns = plan.namespace;
  const snapshot = plan.snapshotName === 'latest'
    ? `the newest complete backup in \`${plan.snapshotLocation}\` at the time the restore runs (the Jobs log the name they resolved)`
    : `\`${plan.snapshotName}\` in \`${plan.snapshotLocation}\``;
  const lines: string[] = [
    `# Restore \`${request.id}\` of cluster \`${cluster.name}\``,
    '',
    `Restores etcd of \`${cluster.name}\` (${cluster.topology.kind}, ${plan.members.length} member${plan.members.length === 1 ? '' : 's'}) from ${snapshot}.`,
    `Everything in this folder is applied on purpose, once, with \`kubectl apply -k\`; no automated sync ever applies it.`,
    'A restore replaces the whole keyspace: every change made after the backup is lost.',
    '',
    '## Before you start',
    '',
    `1. Check that the scheduled backup and drill are paused. This request suspends \`${backupCronJobName(cluster.name)}\` and \`${drillCronJobName(cluster.name)}\` in the cluster's own folder, so Argo CD or Flux apply the pause and keep it (a \`kubectl patch\` would be reverted by the next self-heal or reconcile). Both must show \`true\`, and no backup Job may still be running:`,
    code([
      `kubectl -n ${ns} get cronjob ${backupCronJobName(cluster.name)} ${drillCronJobName(cluster.name)} -o custom-columns=NAME:.metadata.name,SUSPEND:.spec.suspend`,
      `kubectl -n ${ns} get jobs -l app.kubernetes.io/instance=${cluster.name} -o custom-columns=NAME:.metadata.name,ACTIVE:.status.active`,
    ]),
    '   If they still show `false`, the commit with this request has not been synced yet. Sync it now:',
    code([
      `argocd app sync ${gitopsObjectName(cluster.name)}                                   # Argo CD`,
      `flux reconcile kustomization ${gitopsObjectName(cluster.name)} --with-source        # Flux`,
    ]),
    ...gitopsOwnersStep(cluster),
    `2. Create the Secret with the age identity that opens the backup (only for this restore; delete it afterwards):`,
    code([`kubectl -n ${ns} create secret generic ${plan.identitySecret} --from-file=identity.txt=./backup.key`]),
    '   Without it, an encrypted backup cannot be read and the Jobs stop before touching anything.',
    '3. Check that you have the right snapshot: its checksum sidecar and metadata are in the storage next to it.',
    ...(plan.signingPublicKey === null
      ? ['   The backups of this cluster are not signed (no `backup.signing`): the Jobs cannot tell a set that someone with the storage credential planted from a genuine one.']
      : [request.allowUnsigned
        ? '   `allowUnsigned: true`: a set not signed with the cluster\'s signing key is restored too (a warning in the log). Be sure where it comes from.'
        : '   The Jobs restore only a set signed with the cluster\'s signing key (`controlplane-backup snapshots` shows SIGNED); an unsigned or forged one stops them with exit 13, before anything is touched.']),
    '',
    '## What will happen',
    '',
  ];
  if (cluster.topology.kind === 'kubeadm') {
    const topology = cluster.topology;
    lines.push(
      `One Job per member, each pinned to its node (\`nodeName\`), with host access to \`${topology.dataDir}\`, \`${topology.manifestsDir}\` and \`${topology.pkiDir}\`:`,
      '',
      ...plan.members.map((member) => `- \`${member.jobName}\` on node \`${member.name}\` (peer URL \`${member.peerUrl}\`)`),
      '',
      'Each Job, in this order:',
      '',
      '1. Stops at once, changing nothing, when the marker `' + `${topology.dataDir}/.controlplane-backup-restore-${request.id}.done` + '` exists (this restore already ran on this node).',
      '2. Downloads the backup set, verifies every object against the checksum sidecar, decrypts, decompresses and checks the snapshot\'s embedded sha256. Nothing on the node is touched before this succeeds.',
      `3. Restores the snapshot into \`${topology.dataDir}/.restore-${request.id}.staging\` with the member's name, its peer URL, \`--initial-cluster ${plan.initialCluster}\` and the new cluster token \`${plan.initialClusterToken}\`.`,
      ...(plan.members.length > 1
        ? [`4. Waits until every member has staged the same snapshot (markers in \`${plan.restoreLocation}\`), so that no member stops etcd while another cannot follow.`]
        : ['4. (Single member: no wait for other members.)']),
      `5. Stops etcd: moves \`${topology.manifestsDir}/etcd.yaml\` to \`${topology.manifestsDir}/.etcd.yaml.restore-${request.id}\` and waits until etcd no longer answers.`,
      `6. Keeps the old data as \`${topology.dataDir}/member.before-restore-${request.id}\` and moves the restored data in.`,
      ...(request.pki ? [`7. Restores the PKI bundle of the same backup into \`${topology.pkiDir}\`, keeping the current files in \`${topology.pkiDir}/.before-restore-${request.id}/\`.`] : ['7. (The PKI is not restored: `pki: false`.)']),
      '8. Writes the marker, puts the etcd manifest back and waits until the member is healthy.',
      '',
    );
  } else {
    const topology = cluster.topology;
    lines.push(
      `A coordinator Job \`${plan.coordinatorName}\` walks these phases, each recorded in the ConfigMap \`${plan.statusConfigMap}\` (\`phase\`, \`reason\`, \`message\`):`,
      '',
      '1. **Validating**: downloads and verifies the snapshot; checks that StatefulSet `' + topology.statefulSet + '` has ' + topology.replicas + ' replicas, that the backup is of this cluster, that its etcd version is not newer than the StatefulSet\'s etcd image, and that each PVC holds twice the snapshot (reason `PreRestoreCheckFailed`)'
        + (plan.owners?.length ? `; then pauses ${plan.owners.map((o) => `${o.kind} \`${o.namespace}/${o.name}\``).join(', ')} (recorded in the status ConfigMap first).` : '.'),
      `2. **DrainingControlPlane**: scales ${topology.controlPlaneDeployments.length ? topology.controlPlaneDeployments.map((d) => `\`${d}\``).join(', ') : '(no Deployments listed in the inventory)'} to 0.`,
      `3. **StoppingEtcd**: scales \`${topology.statefulSet}\` to 0 and waits until its pods are gone.`,
      `4. **RestoringSnapshot**: one Job per replica rebuilds its volume (${plan.members.map((m) => `\`${m.claimName}\``).join(', ')}) under \`${topology.dataDirInVolume || '(the volume root)'}\`, keeping the old data as \`member.before-restore-${request.id}\`.`,
      `5. **StartingEtcd**: scales \`${topology.statefulSet}\` back to ${topology.replicas} and waits until every replica is ready.`,
      '6. **StartingControlPlane**: scales the control plane back; the phase becomes **Succeeded**.',
      '',
      'A failure stops with phase `Failed` and a reason; etcd is never started on half-restored data.',
      'Before anything is touched, the coordinator stops with reason `OwnerWouldRevert` when a controller would scale back what the restore holds at 0 (Argo CD auto-sync, a Flux Kustomization or HelmRelease, Kamaji\'s TenantControlPlane): unless `hosted.owners` of the inventory names it: its message says what to pause by hand (`flux suspend ...`, `argocd app set ... --sync-policy none`) and the exact entry to add. Named owners are resumed on `Succeeded` and on every failure that leaves etcd on its old data; after a failure in RestoringSnapshot or StartingEtcd they stay paused (the message says what to put back once etcd is restored or rolled back).',
      '',
    );
  }
  lines.push(
    '## Run and watch',
    '',
    code([
      `kubectl apply -k .`,
      `kubectl -n ${ns} get jobs -l app.kubernetes.io/instance=${cluster.name},app.kubernetes.io/component=restore -w`,
      ...(plan.coordinatorName
        ? [`kubectl -n ${ns} get configmap ${plan.statusConfigMap} -o jsonpath='{.data}' ; echo`, `kubectl -n ${ns} logs -f job/${plan.coordinatorName}`]
        : plan.members.map((member) => `kubectl -n ${ns} logs -f job/${member.jobName}`)),
    ]),
    'Each Job prints one JSON result line (`status`, `snapshot`, `revisionBumped`, durations) and explains any failure on stderr.',
    ...(cluster.topology.kind === 'kubeadm'
      ? [
          '',
          `The result line outlives the pod (after a rollback, the restored etcd no longer knows the Job): on each node in \`${cluster.topology.dataDir}/.controlplane-backup-restore-${request.id}.result.json\`, and in the storage as \`${plan.restoreLocation}/<member>.result.json\`.`,
        ]
      : []),
    '',
    '## Verify',
    '',
  );
  if (cluster.topology.kind === 'kubeadm') {
    const pki = cluster.topology.pkiDir;
    lines.push(
      'On a control-plane node:',
      code([
        `ETCDCTL_API=3 etcdctl --endpoints=${plan.members.map((m) => m.clientEndpoint).join(',')} \\`,
        `  --cacert=${pki}/etcd/ca.crt --cert=${pki}/etcd/healthcheck-client.crt --key=${pki}/etcd/healthcheck-client.key \\`,
        '  endpoint status -w table',
      ]),
      'Every member answers, exactly one is leader, and all show the same revision and raft index.',
    );
  } else {
    lines.push(`The status ConfigMap says \`phase: Succeeded\`; \`kubectl -n ${ns} get statefulset ${cluster.topology.statefulSet}\` shows every replica ready.`);
  }
  lines.push(
    '',
    'If a Job reports `revisionBumped: false` (etcd before 3.6 without `--bump-revision`), restart every kube-apiserver, kube-controller-manager, kube-scheduler and kubelet of the cluster, so that no watch cache sees revisions go backwards.',
    '',
    'Then delete the identity Secret, and resume the backups the declarative way: remove this request from the inventory, synthesize and commit. The next sync un-suspends the backup and drill CronJobs and removes this folder.',
    code([`kubectl -n ${ns} delete secret ${plan.identitySecret}`]),
    ...(cluster.topology.kind === 'hosted' ? ['Resume whatever you paused in step 1 (`argocd app set APP --sync-policy automated --self-heal`, `flux resume kustomization|helmrelease NAME -n NAMESPACE`).'] : []),
    '',
    '## Roll back',
    '',
  );
  if (cluster.topology.kind === 'kubeadm') {
    const { dataDir, manifestsDir, pkiDir } = cluster.topology;
    lines.push(
      'On every member\'s node (all of them: members must not mix old and new data):',
      code([
        `mv ${manifestsDir}/etcd.yaml ${manifestsDir}/.etcd.yaml.rollback   # stop etcd; wait until it is gone`,
        `mv ${dataDir}/member ${dataDir}/member.restored-${request.id}`,
        `mv ${dataDir}/member.before-restore-${request.id} ${dataDir}/member`,
        ...(request.pki ? [`cp -a ${pkiDir}/.before-restore-${request.id}/. ${pkiDir}/`] : []),
        `mv ${manifestsDir}/.etcd.yaml.rollback ${manifestsDir}/etcd.yaml`,
      ]),
      `Remove \`${dataDir}/member.before-restore-${request.id}\` only once the restored cluster is verified.`,
    );
  } else {
    lines.push(
      `With \`${cluster.topology.statefulSet}\` scaled to 0, in each replica's volume: move \`member\` aside and \`member.before-restore-${request.id}\` back to \`member\`; then scale etcd and the control plane back to the replica counts the status ConfigMap recorded.`,
    );
  }
  lines.push(
    '',
    `The restore is finished when this folder's Jobs have completed. Keep them: the marker and the Jobs make a second \`kubectl apply -k .\` a no-op. Remove the request from the inventory (and so this folder) once you are done.`,
    '',
  );
  return lines.join('\n');
}
