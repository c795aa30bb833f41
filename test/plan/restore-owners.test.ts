// hosted.owners as the restore sees them: every namespace resolved (Argo CD's and Flux's from the gitops section),
// and the inventory's kinds exactly the ones the agent knows how to pause.
import { describe, expect, it } from 'vitest';
import { OWNER_KIND_NAMES } from '../../lib/agent/restore/plans';
import { HOSTED_OWNER_KINDS } from '../../lib/inventory/schema';
import { restoreOwners } from '../../lib/plan/restore';
import { inventoryOf, minimalDocument } from '../support/inventory';

const owners = [
  { kind: 'HelmRelease', name: 'beta' },
  { kind: 'Kustomization', name: 'tenants', namespace: 'platform' },
  { kind: 'Application', name: 'beta-cp' },
  { kind: 'TenantControlPlane', name: 'beta' },
];

describe('restoreOwners', () => {
  it('puts an owner without a namespace in the gitops section\'s Argo CD or Flux namespace, a TenantControlPlane in the tenant\'s', () => {
    const document = minimalDocument();
    document.clusters.beta.hosted.owners = owners;
    document.gitops = { repoURL: 'https://git.example.com/platform.git', argocd: { namespace: 'gitops' }, flux: { namespace: 'flux' } };
    const inventory = inventoryOf(document);
    expect(restoreOwners(inventory, inventory.clusters.find((c) => c.name === 'beta')!).map(({ kind, namespace, name }) => `${kind} ${namespace}/${name}`)).toEqual([
      'HelmRelease flux/beta', 'Kustomization platform/tenants', 'Application gitops/beta-cp', `TenantControlPlane ${document.clusters.beta.hosted.namespace}/beta`,
    ]);
  });

  it('without a gitops section: argocd and flux-system', () => {
    const document = minimalDocument();
    document.clusters.beta.hosted.owners = owners.slice(0, 3);
    const inventory = inventoryOf(document);
    expect(restoreOwners(inventory, inventory.clusters.find((c) => c.name === 'beta')!).map((o) => o.namespace)).toEqual(['flux-system', 'platform', 'argocd']);
  });

  it('the inventory accepts exactly the kinds the coordinator can pause', () => {
    expect([...HOSTED_OWNER_KINDS].sort()).toEqual([...OWNER_KIND_NAMES].sort());
  });
});
