/**
 * The one place that says what a cluster's pods need for the credentials of their storages: the credential kind of
 * each destination (for SUMMARY.md), and for workload identity what the ServiceAccount, the pod and the containers
 * that talk to the store carry (annotations, labels, a projected ServiceAccount token, env), and the egress the
 * identity service needs. One entry per provider in IDENTITY_PROVIDERS; constructs apply what this returns. Which
 * mechanism may serve which topology is a validation rule (lib/inventory/rules.ts, EKS_ONLY_MECHANISMS).
 */
import { INVENTORY_DEFAULTS } from '../inventory/defaults';
import type { Storage } from '../inventory/model';
import type { StorageSpec } from '../inventory/schema';

type WorkloadIdentitySpec = NonNullable<NonNullable<StorageSpec['credentials']>['workloadIdentity']>;
export type IdentityProvider = keyof WorkloadIdentitySpec;

/**
 * How a destination gets its credentials: a Secret (existingSecret, externalSecret, sealedSecret), the bucket
 * claim's Secret, none (node disk), or `workloadIdentity:<provider>-<mechanism>` (e.g. `workloadIdentity:aws-irsa`).
 */
export type CredentialKind = 'existingSecret' | 'externalSecret' | 'sealedSecret' | 'objectBucketClaim' | 'none' | `workloadIdentity:${string}`;

/** A ServiceAccount token the kubelet projects into the pod, for the containers that talk to the store. */
export interface ProjectedToken {
  /** Volume name in the pod. */
  readonly volume: string;
  readonly audience: string;
  readonly expirationSeconds: number;
  /** Directory the volume is mounted at; the token is `<mountPath>/<path>`. */
  readonly mountPath: string;
  readonly path: string;
}

/** What the pods of one storage's workload identity need; empty fields when nothing. */
export interface WorkloadIdentityNeeds {
  /** `<provider>-<mechanism>`, e.g. `aws-irsa`. */
  readonly kind: string;
  /** The identity the pods assume (role ARN, service account e-mail, client id): for messages and SUMMARY.md. */
  readonly principal: string;
  readonly serviceAccountAnnotations: Readonly<Record<string, string>>;
  readonly podLabels: Readonly<Record<string, string>>;
  readonly podAnnotations: Readonly<Record<string, string>>;
  /**
   * The pod annotation whose value lists the containers that must not receive the credentials a webhook injects, and
   * how the webhook separates the names (EKS: ",", Azure: ";"); undefined when nothing is injected.
   */
  readonly skipContainers?: SkipContainers;
  readonly projectedTokens: readonly ProjectedToken[];
  /** Env of the containers that talk to the store: literal values (an EnvSource of lib/plan/backup.ts). */
  readonly env: readonly { readonly name: string; readonly source: { readonly value: string } }[];
  /** TCP ports the identity service is reached on (the NetworkPolicy of hosted clusters opens them). */
  readonly egressPorts: readonly number[];
  /** What the user creates outside this tool for it to work (README, SUMMARY.md). */
  readonly userCreates: string;
}

/** Where projected tokens are mounted in the pods: not the EKS webhook's own path, so both never collide. */
export const IDENTITY_TOKEN_DIR = '/var/run/secrets/controlplane-backup';

/** A token lives an hour; the kubelet renews it at 80% of that, the SDK re-reads the file when its credentials expire. */
const TOKEN_EXPIRATION_SECONDS = 3600;

const AWS = {
  roleAnnotation: 'eks.amazonaws.com/role-arn',
  audienceAnnotation: 'eks.amazonaws.com/audience',
  skipContainers: 'eks.amazonaws.com/skip-containers',
  /** STS over https (AssumeRoleWithWebIdentity). */
  stsPort: 443,
  /** The EKS Pod Identity agent listens on 169.254.170.23:80 (and [fd00:ec2::23]:80) on each node. */
  podIdentityAgentPort: 80,
};

/**
 * GKE Workload Identity: the ServiceAccount names the Google service account; the GKE metadata server (169.254.169.254:80,
 * served on port 988 of the node, which GKE's NetworkPolicy guidance allows) hands the pod its tokens. Pods on the
 * host network get none: the rules refuse it for kubeadm clusters.
 */
const GCP = {
  serviceAccountAnnotation: 'iam.gke.io/gcp-service-account',
  metadataServerPorts: [80, 988],
};

/**
 * Azure Workload Identity: its mutating webhook sees the pod label, reads the ServiceAccount's client id (and tenant
 * id), and injects AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE, AZURE_AUTHORITY_HOST and the
 * projected token into the containers; the SDK exchanges the token with Entra ID over https.
 */
const AZURE = {
  clientIdAnnotation: 'azure.workload.identity/client-id',
  tenantIdAnnotation: 'azure.workload.identity/tenant-id',
  useLabel: 'azure.workload.identity/use',
  /** The webhook injects into every container unless this pod annotation names it (names separated by ";"). */
  skipContainers: 'azure.workload.identity/skip-containers',
  entraIdPort: 443,
};

/** One function per provider: what its workload identity needs, from its inventory entry. */
const IDENTITY_PROVIDERS: { readonly [P in IdentityProvider]-?: (spec: NonNullable<WorkloadIdentitySpec[P]>) => WorkloadIdentityNeeds } = {
  aws: (spec) => {
    const audience = spec.audience ?? INVENTORY_DEFAULTS.storage.awsWebIdentityAudience;
    const none = { podLabels: {}, podAnnotations: {}, projectedTokens: [], env: [] };
    switch (spec.mechanism) {
      case 'irsa':
        return {
          ...none,
          kind: 'aws-irsa',
          principal: spec.roleArn,
          serviceAccountAnnotations: {
            [AWS.roleAnnotation]: spec.roleArn,
            ...(audience !== INVENTORY_DEFAULTS.storage.awsWebIdentityAudience ? { [AWS.audienceAnnotation]: audience } : {}),
          },
          skipContainers: { annotation: AWS.skipContainers, separator: ',' },
          egressPorts: [AWS.stsPort],
          userCreates: `the IAM role ${spec.roleArn} with a trust policy for the cluster's OIDC provider and the ServiceAccount`,
        };
      case 'projectedToken': {
        const mountPath = `${IDENTITY_TOKEN_DIR}/aws`;
        return {
          ...none,
          kind: 'aws-projectedToken',
          principal: spec.roleArn,
          serviceAccountAnnotations: {},
          projectedTokens: [{ volume: 'aws-identity-token', audience, expirationSeconds: TOKEN_EXPIRATION_SECONDS, mountPath, path: 'token' }],
          // The SDK's default chain reads these two (web identity); nothing else is needed.
          env: [
            { name: 'AWS_ROLE_ARN', source: { value: spec.roleArn } },
            { name: 'AWS_WEB_IDENTITY_TOKEN_FILE', source: { value: `${mountPath}/token` } },
          ],
          egressPorts: [AWS.stsPort],
          userCreates: `the IAM role ${spec.roleArn} trusting the cluster's service-account issuer (an IAM OIDC provider) for audience "${audience}" and the ServiceAccount`,
        };
      }
      case 'podIdentity':
        return {
          ...none,
          kind: 'aws-podIdentity',
          principal: spec.roleArn,
          // The Pod Identity webhook injects AWS_CONTAINER_CREDENTIALS_FULL_URI and its token into every container.
          serviceAccountAnnotations: {},
          egressPorts: [AWS.podIdentityAgentPort],
          userCreates: `an EKS pod identity association of the ServiceAccount with the IAM role ${spec.roleArn} (trusting pods.eks.amazonaws.com)`,
        };
    }
  },
  gcp: (spec) => ({
    kind: 'gcp-workloadIdentity',
    principal: spec.serviceAccount,
    serviceAccountAnnotations: { [GCP.serviceAccountAnnotation]: spec.serviceAccount },
    podLabels: {},
    podAnnotations: {},
    projectedTokens: [],
    env: [],
    egressPorts: GCP.metadataServerPorts,
    userCreates: `an IAM binding of roles/iam.workloadIdentityUser on ${spec.serviceAccount} for the member serviceAccount:PROJECT.svc.id.goog[NAMESPACE/SERVICEACCOUNT], and roles/storage.objectAdmin for ${spec.serviceAccount} on the bucket`,
  }),
  azure: (spec) => ({
    kind: 'azure-workloadIdentity',
    principal: spec.clientId,
    serviceAccountAnnotations: {
      [AZURE.clientIdAnnotation]: spec.clientId,
      ...(spec.tenantId ? { [AZURE.tenantIdAnnotation]: spec.tenantId } : {}),
    },
    podLabels: { [AZURE.useLabel]: 'true' },
    podAnnotations: {},
    skipContainers: { annotation: AZURE.skipContainers, separator: ';' },
    projectedTokens: [],
    env: [],
    egressPorts: [AZURE.entraIdPort],
    userCreates: `a federated identity credential on the identity ${spec.clientId} for the cluster's issuer and subject system:serviceaccount:NAMESPACE:SERVICEACCOUNT, and its role assignment "Storage Blob Data Contributor" on the container`,
  }),
};

/** The provider named in a storage's `workloadIdentity` (exactly one, the rules check it). */
function providerOf(spec: WorkloadIdentitySpec): IdentityProvider | undefined {
  return (Object.keys(IDENTITY_PROVIDERS) as IdentityProvider[]).find((provider) => spec[provider] !== undefined);
}

/** What a storage's workload identity needs; undefined when it uses keys (or none). */
export function storageIdentity(storage: Storage): WorkloadIdentityNeeds | undefined {
  const spec = 'credentials' in storage ? storage.credentials.workloadIdentity : undefined;
  if (!spec) return undefined;
  const provider = providerOf(spec);
  if (!provider) return undefined;
  return (IDENTITY_PROVIDERS[provider] as (value: unknown) => WorkloadIdentityNeeds)(spec[provider]);
}

export function credentialKind(storage: Storage): CredentialKind {
  if (storage.kind === 'objectBucketClaim') return 'objectBucketClaim';
  if (storage.kind === 'local') return 'none';
  const identity = storageIdentity(storage);
  if (identity) return `workloadIdentity:${identity.kind}`;
  const { externalSecret, sealedSecret } = storage.credentials;
  return externalSecret ? 'externalSecret' : sealedSecret ? 'sealedSecret' : 'existingSecret';
}

/** What a pod that talks to these storages needs, merged (the rules allow one identity per provider and cluster). */
export function podIdentity(storages: readonly Storage[]): WorkloadIdentityNeeds[] {
  const seen = new Map<string, WorkloadIdentityNeeds>();
  for (const storage of storages) {
    const identity = storageIdentity(storage);
    if (identity && !seen.has(`${identity.kind} ${identity.principal}`)) seen.set(`${identity.kind} ${identity.principal}`, identity);
  }
  return [...seen.values()];
}

/** The union of several needs, as one pod carries them. */
export interface SkipContainers {
  readonly annotation: string;
  readonly separator: ',' | ';';
}

export function mergeIdentity(needs: readonly WorkloadIdentityNeeds[]): Omit<WorkloadIdentityNeeds, 'kind' | 'principal' | 'userCreates' | 'skipContainers'> & { readonly skipContainers: readonly SkipContainers[] } {
  const byName = <T extends { readonly name: string }>(items: readonly T[]) => [...new Map(items.map((item) => [item.name, item])).values()];
  const tokens = [...new Map(needs.flatMap((need) => need.projectedTokens).map((token) => [token.volume, token])).values()];
  return {
    serviceAccountAnnotations: Object.assign({}, ...needs.map((need) => need.serviceAccountAnnotations)),
    podLabels: Object.assign({}, ...needs.map((need) => need.podLabels)),
    podAnnotations: Object.assign({}, ...needs.map((need) => need.podAnnotations)),
    // Every webhook that injects (a pod may read an S3 and an Azure storage) keeps out of the other containers.
    skipContainers: [...new Map(needs.flatMap((need) => (need.skipContainers ? [need.skipContainers] : [])).map((skip) => [skip.annotation, skip])).values()],
    projectedTokens: tokens,
    env: byName(needs.flatMap((need) => need.env)),
    egressPorts: [...new Set(needs.flatMap((need) => need.egressPorts))].sort((a, b) => a - b),
  };
}
