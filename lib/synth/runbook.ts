/** RUNBOOK.md of one restore request: what will happen, in which order, how to watch, verify and roll back. */
import type { Cluster } from '../inventory/model';
import { backupCronJobName, drillCronJobName, gitopsObjectName } from '../plan/names';
import { RESTORE_DEADLINE_SECONDS, RESTORE_TIMEOUTS, STATIC_POD_FILES, type RestorePlan, type StaticPodsPlan } from '../plan/restore';

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

/**
 * Step 1 of the restores the API server sees: the request suspends the backup and drill CronJobs through the cluster's
 * own folder (so a GitOps sync keeps the pause); check that it is synced and no backup Job still runs.
 */
function pausedBackupsStep(cluster: Cluster, ns: string): string[] {
  return [
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
  ];
}

/** Whether the restore accepts only signed sets, in the words of the runbook's snapshot check. */
const signatureNote = (plan: RestorePlan, restorer: string): string[] => (plan.signingPublicKey === null
  ? ['   The backups of this cluster are not signed (no `backup.signing`): the restore cannot tell a set that someone with the storage credential planted from a genuine one.']
  : [plan.request.allowUnsigned
    ? '   `allowUnsigned: true`: a set not signed with the cluster\'s signing key is restored too (a warning in the log). Be sure where it comes from.'
    : `   ${restorer} restore only a set signed with the cluster's signing key (\`controlplane-backup snapshots\` shows SIGNED); an unsigned or forged one stops them with exit 13, before anything is touched.`]);

export function restoreRunbook(cluster: Cluster, plan: RestorePlan): string {
  if (cluster.topology.kind === 'hosted') return hostedRunbook(cluster, cluster.topology, plan);
  if (!plan.staticPods) throw new Error(`restore ${plan.request.id} of ${cluster.name}: a kubeadm restore plan without its static pods`);
  return kubeadmRunbook(cluster, cluster.topology, plan, plan.staticPods);
}

type KubeadmTopology = Extract<Cluster['topology'], { kind: 'kubeadm' }>;
type HostedTopology = Extract<Cluster['topology'], { kind: 'hosted' }>;

/** A hosted restore's runbook: the management cluster's API server is up; the coordinator Job walks the phases. */
function hostedRunbook(cluster: Cluster, topology: HostedTopology, plan: RestorePlan): string {
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
    ...pausedBackupsStep(cluster, ns),
    ...gitopsOwnersStep(cluster),
    `2. Create the Secret with the age identity that opens the backup (only for this restore; delete it afterwards):`,
    code([`kubectl -n ${ns} create secret generic ${plan.identitySecret} --from-file=identity.txt=./backup.key`]),
    '   Without it, an encrypted backup cannot be read and the Jobs stop before touching anything.',
    '3. Check that you have the right snapshot: its checksum sidecar and metadata are in the storage next to it.',
    ...signatureNote(plan, 'The Jobs'),
    '',
    '## What will happen',
    '',
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
    '## Run and watch',
    '',
    code([
      `kubectl apply -k .`,
      `kubectl -n ${ns} get jobs -l app.kubernetes.io/instance=${cluster.name},app.kubernetes.io/component=restore -w`,
      `kubectl -n ${ns} get configmap ${plan.statusConfigMap} -o jsonpath='{.data}' ; echo`,
      `kubectl -n ${ns} logs -f job/${plan.coordinatorName}`,
    ]),
    'Each Job prints one JSON result line (`status`, `snapshot`, `revisionBumped`, durations) and explains any failure on stderr.',
    '',
    '## Verify',
    '',
    `The status ConfigMap says \`phase: Succeeded\`; \`kubectl -n ${ns} get statefulset ${topology.statefulSet}\` shows every replica ready.`,
    '',
    'If a Job reports `revisionBumped: false` (etcd tools before 3.5 without `--bump-revision`, or `bumpRevision: false`), the watch caches hold revisions newer than the restored ones: restart the tenant\'s kube-apiserver, kube-controller-manager and kube-scheduler (`kubectl -n ' + ns + ' rollout restart deployment ...`) and the kubelet of every worker node of the tenant cluster.',
    '',
    'Then delete the identity Secret, and resume the backups the declarative way: remove this request from the inventory, synthesize and commit. The next sync un-suspends the backup and drill CronJobs and removes this folder.',
    code([`kubectl -n ${ns} delete secret ${plan.identitySecret}`]),
    'Resume whatever you paused in step 1 (`argocd app set APP --sync-policy automated --self-heal`, `flux resume kustomization|helmrelease NAME -n NAMESPACE`).',
    '',
    '## Roll back',
    '',
    `With \`${topology.statefulSet}\` scaled to 0, in each replica's volume: move \`member\` aside and \`member.before-restore-${request.id}\` back to \`member\`; then scale etcd and the control plane back to the replica counts the status ConfigMap recorded.`,
    '',
    `The restore is finished when this folder's Jobs have completed. Keep them: the marker and the Jobs make a second \`kubectl apply -k .\` a no-op. Remove the request from the inventory (and so this folder) once you are done.`,
    '',
  ];
  return lines.join('\n');
}

/** The commands that restart what watches etcd, when the revision could not be bumped (issue 11 item 7). */
function restartWatchers(plan: RestorePlan): string[] {
  return [
    ...plan.members.map((member) => `ssh ${hostOf(member)} 'sudo crictl stop $(sudo crictl ps -q --name "kube-apiserver|kube-controller-manager|kube-scheduler")'   # ${member.name}`),
    'for node in $(kubectl get nodes -o name | cut -d/ -f2); do ssh "$node" sudo systemctl restart kubelet; done',
  ];
}

/** The address to reach a member's node by ssh: its IP from the peer URL. */
function hostOf(member: RestorePlan['members'][number]): string {
  return member.peerUrl.replace(/^https?:\/\/\[?/, '').replace(/\]?:\d+$/, '');
}

/**
 * A kubeadm restore's runbook, for the two situations it is for: the API server is down (quorum lost: the static pods,
 * no kubectl at all), or it is up (a rollback: the Jobs). Every command names this restore's nodes and paths.
 */
function kubeadmRunbook(cluster: Cluster, topology: KubeadmTopology, plan: RestorePlan, staticPods: StaticPodsPlan): string {
  const { request } = plan;
  const id = request.id;
  const ns = plan.namespace;
  const { dataDir, manifestsDir, pkiDir } = topology;
  const files = staticPods.nodeDir;
  const ownManifest = staticPods.manifest;
  const parked = `${manifestsDir}/.${ownManifest.slice(manifestsDir.length + 1)}.part`;
  const marker = `${dataDir}/.controlplane-backup-restore-${id}.done`;
  const result = `${dataDir}/.controlplane-backup-restore-${id}.result.json`;
  const { storageEnv } = staticPods;
  const caBundle = plan.source.caBundle;
  const image = cluster.backup.images.tools;
  const many = plan.members.length > 1;
  const snapshot = plan.snapshotName === 'latest'
    ? `the newest complete backup in \`${plan.snapshotLocation}\` at the time the restore runs (each pod logs the name it resolved; all members must resolve the same one)`
    : `\`${plan.snapshotName}\` in \`${plan.snapshotLocation}\``;
  const replaced = request.members !== undefined;
  const toCopy = ['backup.key', ...(storageEnv.length ? ['storage.env'] : []), ...(caBundle ? ['ca.crt'] : [])];
  const perMember = (f: (member: RestorePlan['members'][number]) => string[]) => plan.members.flatMap((member) => [`# ${member.name}`, ...f(member)]);
  const place = (member: RestorePlan['members'][number]) => {
    const host = hostOf(member);
    const installs = [
      `sudo install -d -m 0700 ${files}`,
      `sudo install -m 0600 /tmp/backup.key ${files}/${STATIC_POD_FILES.identity}`,
      ...(storageEnv.length ? [`sudo install -m 0600 /tmp/storage.env ${files}/${STATIC_POD_FILES.storageEnv}`] : []),
      ...(caBundle ? [`sudo install -m 0644 /tmp/ca.crt ${files}/${STATIC_POD_FILES.caBundle}`] : []),
      `rm -f ${toCopy.map((f) => `/tmp/${f}`).join(' ')}`,
    ];
    return [
      `scp ${toCopy.join(' ')} ${staticPods.pods.find((pod) => pod.member === member.name)!.file} ${host}:/tmp/`,
      `ssh ${host} '${installs.join(' && ')}'`,
    ];
  };

  const lines: string[] = [
    `# Restore \`${id}\` of cluster \`${cluster.name}\``,
    '',
    `Restores etcd of \`${cluster.name}\` (kubeadm, ${plan.members.length} member${many ? 's' : ''}) from ${snapshot}.`,
    'A restore replaces the whole keyspace: every change made after the backup is lost.',
    '',
    'There are two ways to run it. Pick by whether the cluster\'s API server answers (`kubectl get --raw /readyz`):',
    '',
    '- **The API server is down** (etcd lost quorum, members lost their data): use **A. Static pods**. It needs `ssh` and `sudo` on the control-plane nodes, and no `kubectl` at all.',
    '- **The API server is up** (a rollback to an earlier state): use **B. Jobs** (`kubectl apply -k .`), or A as well.',
    '',
    `Members to restore (each with its node, the IP etcd listens on, and its peer URL):`,
    '',
    '| member (node) | IP | peer URL |',
    '| --- | --- | --- |',
    ...plan.members.map((member) => `| \`${member.name}\` | \`${hostOf(member)}\` | \`${member.peerUrl}\` |`),
    '',
    ...(replaced
      ? [
          `These are the request's \`members\` (replaced control-plane nodes), not \`kubeadm.members\` of the inventory. Each node must already be a kubeadm control-plane node: kubeadm's PKI in \`${pkiDir}\` and etcd's static pod manifest \`${manifestsDir}/etcd.yaml\` with the name and IP above (\`kubeadm init phase certs etcd-*\`, \`kubeadm init phase etcd local\`). Once the cluster runs, set \`kubeadm.members\` in the inventory to these nodes: backups and later restores use it.`,
          '',
        ]
      : []),
    'Each member\'s restore, whichever way it is started:',
    '',
    `1. Stops at once, changing nothing, when the marker \`${marker}\` exists (this restore already ran on this node).`,
    '2. Downloads the backup set, verifies every object against the checksum sidecar, decrypts, decompresses and checks the snapshot\'s embedded sha256. Nothing on the node is touched before this succeeds.',
    `3. Restores the snapshot into \`${dataDir}/.restore-${id}.staging\` with the member's name, its peer URL, \`--initial-cluster ${plan.initialCluster}\` and the new cluster token \`${plan.initialClusterToken}\`${request.bumpRevision ? ', revisions moved forward by 1,000,000,000 and compacted (`--bump-revision --mark-compacted`, etcdutl 3.5.x and later) so that no watch cache sees them go backwards' : ''}.`,
    ...(many
      ? [`4. Waits (at most ${RESTORE_TIMEOUTS.kubeadm.barrierSeconds / 60} minutes) until every member has staged the same snapshot (objects in \`${plan.restoreLocation}\`), so that no member stops etcd while another cannot follow. Start all members within that time.`]
      : ['4. (Single member: no wait for other members.)']),
    `5. Stops etcd: moves \`${manifestsDir}/etcd.yaml\` to \`${manifestsDir}/.etcd.yaml.restore-${id}\` and waits until etcd no longer answers.`,
    `6. Keeps the old data as \`${dataDir}/member.before-restore-${id}\` and moves the restored data in.`,
    request.pki ? `7. Restores the PKI bundle of the same backup into \`${pkiDir}\`, keeping the current files in \`${pkiDir}/.before-restore-${id}/\`.` : '7. (The PKI is not restored: `pki: false`.)',
    '8. Writes the marker, puts the etcd manifest back and waits until the member is healthy.',
    `9. Records how it ended, whatever the outcome: on the node in \`${result}\`, and in the storage as \`${plan.restoreLocation}/<member>.result.json\` (\`status\` ok or failed, \`stage\`, \`message\`, \`snapshot\`, \`revisionBumped\`, durations).`,
    '',
    '## Before you start',
    '',
    '1. Check that you have the right snapshot: its checksum sidecar and metadata are in the storage next to it.',
    ...signatureNote(plan, 'The static pods and the Jobs'),
    '2. Have the age identity that opens the backup at hand as `backup.key` (the file with the `AGE-SECRET-KEY-1...` line), in this folder on your workstation. It is never written into any manifest.',
    '',
    '## A. Static pods (the API server is down)',
    '',
    `Per member, a pod manifest in \`${STATIC_POD_FILES.folder}/\` that the node's kubelet runs without any API server. It reads the age identity${storageEnv.length ? ' and the storage\'s credentials' : ''} from \`${files}/\` on the node (mode 0600, root only), and removes its own manifest once it has recorded its result. Run every command from this folder (\`dist/${cluster.name}/${plan.folder}\`) on your workstation; add your user to the host (\`admin@<ip>\`) if your ssh config does not.`,
    '',
  ];
  if (storageEnv.length) {
    lines.push(
      `**A1. The storage's credentials.** The pods cannot read the Secret the backups use, so they read these variables from \`${files}/${STATIC_POD_FILES.storageEnv}\`. Write them into \`storage.env\` here (the values are those of the Secret, kept in your password store; with the API server down you cannot read the Secret):`,
      '',
      ...storageEnv.map((variable) => `- \`${variable.name}\`: ${variable.from}`),
      code([
        'umask 077',
        "cat > storage.env <<'EOF'",
        ...storageEnv.map((variable) => `${variable.name}=`),
        'EOF',
        '${EDITOR:-vi} storage.env      # fill in each value after the "="',
      ]),
      '',
    );
  }
  if (caBundle) {
    lines.push(`The storage's endpoint uses a private CA: put its bundle (key \`${caBundle.key}\` of ConfigMap \`${caBundle.configMap}\`) here as \`ca.crt\`.`, '');
  }
  lines.push(
    `**A2. Pull the tools image on each node**, while its registry is reachable (a registry inside this cluster is down with it; then load the image with \`ctr -n k8s.io images import\`):`,
    code(plan.members.map((member) => `ssh ${hostOf(member)} 'sudo crictl pull ${image}'   # ${member.name}`)),
    `**A3. Put the files on each node** (the identity${storageEnv.length ? ' and credentials' : ''} into \`${files}/\`, the member's manifest into /tmp):`,
    code(perMember(place)),
    `**A4. Start the restore**: on every member${many ? ', one after the other without waiting (all within the barrier\'s 10 minutes)' : ''}, the manifest goes into the kubelet's folder (written under a dot name first, which the kubelet ignores, then renamed):`,
    code(plan.members.map((member) => `ssh ${hostOf(member)} 'sudo install -m 0600 /tmp/${member.name}.yaml ${parked} && sudo mv ${parked} ${ownManifest}'   # ${member.name}`)),
    '**A5. Watch** each node: the pod\'s container is called `restore`; its log explains every step and any failure.',
    code(perMember((member) => [
      `ssh ${hostOf(member)} 'sudo crictl ps -a --name restore'`,
      `ssh ${hostOf(member)} 'sudo crictl logs -f $(sudo crictl ps -a -q --name restore | head -n 1)'`,
    ])),
    `A member is done when its result file says so and its manifest is gone (the pod removed it; the kubelet then removes the pod and its log: the result file stays):`,
    code(plan.members.map((member) => `ssh ${hostOf(member)} 'sudo cat ${result}; ls ${manifestsDir}'   # ${member.name}`)),
    `\`"status":"ok"\` on every member: go on with **Verify**. \`"status":"failed"\`: the \`message\` says what is wrong and whether the node was touched (\`stage\`). Fix it and start that member again (A4); a member that finished is skipped (its marker), so starting all of them again is safe. The pod gives up after ${RESTORE_DEADLINE_SECONDS / 60} minutes.`,
    '',
    '**A6. Remove the key and the credentials from the nodes** once every member is done:',
    code(plan.members.map((member) => `ssh ${hostOf(member)} 'sudo rm -rf ${files} /tmp/${member.name}.yaml'   # ${member.name}`)),
    '',
    '## B. Jobs (the API server is up)',
    '',
    ...pausedBackupsStep(cluster, ns),
    `2. Create the Secret with the age identity (only for this restore; delete it afterwards). Without it, an encrypted backup cannot be read and the Jobs stop before touching anything:`,
    code([`kubectl -n ${ns} create secret generic ${plan.identitySecret} --from-file=identity.txt=./backup.key`]),
    `3. Run and watch. One Job per member, pinned to its node (${plan.members.map((member) => `\`${member.jobName}\``).join(', ')}):`,
    code([
      'kubectl apply -k .',
      `kubectl -n ${ns} get jobs -l app.kubernetes.io/instance=${cluster.name},app.kubernetes.io/component=restore -w`,
      ...plan.members.map((member) => `kubectl -n ${ns} logs -f job/${member.jobName}`),
    ]),
    `4. Where the result is. Each Job prints one JSON result line. After the data swap the restored etcd no longer knows these Jobs or their pods (they were created after the backup), so the kubelet stops each pod, often while it waits for etcd's health, and the Jobs disappear: that is expected. The result outlives them: on each node in \`${result}\` (\`message\` says "the data of ... is in place" when the pod was stopped during the health wait), and in the storage as \`${plan.restoreLocation}/<member>.result.json\`:`,
    code(plan.members.map((member) => `ssh ${hostOf(member)} 'sudo cat ${result}'   # ${member.name}`)),
    `5. Delete the identity Secret (if it still exists after the rollback):`,
    code([`kubectl -n ${ns} delete secret ${plan.identitySecret} --ignore-not-found`]),
    '',
    '## Verify',
    '',
    `On a control-plane node (\`ssh ${hostOf(plan.members[0])}\`):`,
    code([
      `sudo ETCDCTL_API=3 etcdctl --endpoints=${plan.members.map((m) => m.clientEndpoint).join(',')} \\`,
      `  --cacert=${pkiDir}/etcd/ca.crt --cert=${pkiDir}/etcd/healthcheck-client.crt --key=${pkiDir}/etcd/healthcheck-client.key \\`,
      '  endpoint status -w table',
    ]),
    `Every member answers, exactly one is leader, and all show the same revision and raft index${request.bumpRevision ? ' (above 1,000,000,000 when the revision was bumped)' : ''}. Then \`kubectl get --raw /readyz\` answers \`ok\` and \`kubectl get nodes\` lists the nodes.`,
    '',
    '**Stale caches.** Every result says `revisionBumped`. With `true` nothing needs a restart: the revisions moved forward and were compacted, so every watch re-lists. With `false` (etcd tools before 3.5 without `--bump-revision`, or `bumpRevision: false`), the watch caches of the API servers, controllers and kubelets hold revisions newer than the restored ones and would miss or replay changes: restart the control-plane components on every member and the kubelet on every node:',
    code(restartWatchers(plan)),
    '',
    'Then resume the backups the declarative way: remove this request from the inventory, synthesize and commit. The next sync un-suspends the backup and drill CronJobs and removes this folder. (The restored etcd holds the CronJobs as they were at the backup; the sync sets them as the inventory says.)',
    '',
    '## Roll back',
    '',
    `On every member's node (all of them: members must not mix old and new data). Stop etcd, wait until it is gone (\`sudo crictl ps --name etcd\` shows nothing), then put the old data${request.pki ? ' and PKI' : ''} back:`,
    code(perMember((member) => [
      `ssh ${hostOf(member)} 'sudo mv ${manifestsDir}/etcd.yaml ${manifestsDir}/.etcd.yaml.rollback'`,
      `ssh ${hostOf(member)} 'sudo crictl ps --name etcd'`,
      `ssh ${hostOf(member)} 'sudo mv ${dataDir}/member ${dataDir}/member.restored-${id} && sudo mv ${dataDir}/member.before-restore-${id} ${dataDir}/member${request.pki ? ` && sudo cp -a ${pkiDir}/.before-restore-${id}/. ${pkiDir}/` : ''} && sudo mv ${manifestsDir}/.etcd.yaml.rollback ${manifestsDir}/etcd.yaml'`,
    ])),
    `Remove \`${dataDir}/member.before-restore-${id}\` only once the restored cluster is verified. Keep the marker \`${marker}\`: it makes starting this restore again a no-op.`,
    '',
  );
  return lines.join('\n');
}
