/**
 * Azure Blob Storage behind the ObjectStore interface, through @azure/storage-blob: a container of block blobs, keys
 * relative to it. Credentials: a connection string (a key Secret), or a TokenCredential from @azure/identity (Azure
 * Workload Identity in the pods, the user's own login on the command line). The SDK is loaded on first use, so the
 * command line that never touches Azure does not pay for it.
 */
import { createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ContainerClient } from '@azure/storage-blob';
import type { TokenCredential } from '@azure/identity';
import type { StoredObject } from './layout';
import { StorageError } from './s3';
import { deleteEach, loadSdk, uploadStream, type ListOptions, type ObjectStore } from './store';

export interface AzureBlobStoreOptions {
  /** Storage account name (for messages, and the default endpoint). */
  readonly account: string;
  readonly container: string;
  /** Blob service URL. @default https://<account>.blob.core.windows.net */
  readonly endpoint?: string;
  /** A connection string (account key or SAS): wins over `credential`. */
  readonly connectionString?: string;
  /** An @azure/identity credential; DefaultAzureCredential (with `clientId` when given) when neither is set. */
  readonly credential?: TokenCredential;
  /** Client id of the managed identity / app registration the default chain should use. */
  readonly clientId?: string;
  readonly tenantId?: string;
  /** Who the store authenticates as, in the user's terms: for messages about denied access. */
  readonly identity?: string;
  /** Block size of streamed uploads; at most `concurrency + 1` such buffers are held. @default 8 MiB */
  readonly blockSize?: number;
  /** Blocks in flight per upload, and deletes in flight. @default 2 for uploads, 8 for deletes */
  readonly concurrency?: number;
  /** Attempts per request. @default 3 */
  readonly maxAttempts?: number;
  /** Bound of one request. @default 120 s */
  readonly requestTimeoutMs?: number;
}

/** The endpoint of an account in the public cloud. */
export function azureBlobEndpoint(account: string): string {
  return `https://${account}.blob.core.windows.net`;
}

export class AzureBlobStore implements ObjectStore {
  readonly description: string;
  private readonly endpoint: string;
  private container?: Promise<ContainerClient>;

  constructor(private readonly options: AzureBlobStoreOptions) {
    this.endpoint = (options.endpoint ?? connectionStringEndpoint(options.connectionString) ?? azureBlobEndpoint(options.account)).replace(/\/$/, '');
    this.description = `azure://${options.account}/${options.container} at ${this.endpoint}`;
  }

  private client(): Promise<ContainerClient> {
    this.container ??= (async () => {
      const { BlobServiceClient } = loadSdk<typeof import('@azure/storage-blob')>('@azure/storage-blob');
      const pipelineOptions = {
        retryOptions: { maxTries: this.options.maxAttempts ?? 3, tryTimeoutInMs: this.options.requestTimeoutMs ?? 120_000 },
        // The SDK's telemetry header names the SDK; nothing leaves but the requests themselves.
        userAgentOptions: { userAgentPrefix: 'controlplane-backup' },
      };
      let service;
      if (this.options.connectionString) {
        service = BlobServiceClient.fromConnectionString(this.options.connectionString, pipelineOptions);
      } else {
        const credential = this.options.credential ?? await defaultCredential(this.options.clientId, this.options.tenantId);
        service = new BlobServiceClient(this.endpoint, credential, pipelineOptions);
      }
      return service.getContainerClient(this.options.container);
    })();
    return this.container;
  }

  private fail(error: unknown, key?: string): never {
    if (error instanceof StorageError) throw error;
    throw new StorageError(describeAzureError(error, this.options, this.endpoint, key));
  }

  async list(folder: string, options: ListOptions = {}): Promise<StoredObject[]> {
    const objects: StoredObject[] = [];
    try {
      const container = await this.client();
      const pages = container.listBlobsFlat({ prefix: folder ? `${folder}/` : undefined }).byPage({ maxPageSize: options.pageSize ?? 1000 });
      for await (const page of pages) {
        for (const blob of page.segment.blobItems) objects.push({ key: blob.name, size: blob.properties.contentLength ?? 0 });
        options.onPage?.(objects.length);
      }
    } catch (error) {
      this.fail(error, folder || undefined);
    }
    return objects;
  }

  async read(key: string): Promise<Buffer> {
    try {
      return await (await this.client()).getBlobClient(key).downloadToBuffer();
    } catch (error) {
      this.fail(error, key);
    }
  }

  async download(key: string, path: string): Promise<number> {
    try {
      const response = await (await this.client()).getBlobClient(key).download();
      await pipeline(response.readableStreamBody as Readable, createWriteStream(path, { mode: 0o600 }));
      return (await stat(path)).size;
    } catch (error) {
      this.fail(error, key);
    }
  }

  async write(key: string, body: Buffer | string): Promise<void> {
    try {
      const bytes = typeof body === 'string' ? Buffer.from(body) : body;
      await (await this.client()).getBlockBlobClient(key).upload(bytes, bytes.length);
    } catch (error) {
      this.fail(error, key);
    }
  }

  async upload(key: string, body: Readable): Promise<void> {
    // Blocks are staged as they arrive and committed only at the end: a producer that fails leaves no blob (the
    // uncommitted blocks expire on their own after a week).
    await uploadStream(this, key, body, async () => {
      const blob = (await this.client()).getBlockBlobClient(key);
      await blob.uploadStream(body, this.options.blockSize ?? 8 * 1024 * 1024, this.options.concurrency ?? 2);
    }, (error) => this.fail(error, key));
  }

  async delete(keys: readonly string[]): Promise<void> {
    const container = await this.client().catch((error) => this.fail(error));
    await deleteEach(keys, this.options.concurrency ?? 8, async (key) => {
      try {
        await container.getBlobClient(key).deleteIfExists();
      } catch (error) {
        this.fail(error, key);
      }
    });
  }

  close(): void {
    // The SDK keeps no connection that holds the process open.
  }
}

async function defaultCredential(clientId?: string, tenantId?: string): Promise<TokenCredential> {
  const { DefaultAzureCredential } = loadSdk<typeof import('@azure/identity')>('@azure/identity');
  // In a pod, the workload identity webhook sets AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_FEDERATED_TOKEN_FILE;
  // on a workstation the chain finds `az login` or the environment.
  return new DefaultAzureCredential({
    ...(clientId ? { managedIdentityClientId: clientId, workloadIdentityClientId: clientId } : {}),
    ...(tenantId ? { tenantId } : {}),
  });
}

/** BlobEndpoint of a connection string, or the account's public endpoint it implies. */
function connectionStringEndpoint(connectionString?: string): string | undefined {
  if (!connectionString) return undefined;
  const fields = new Map(connectionString.split(';').filter(Boolean).map((part) => {
    const eq = part.indexOf('=');
    return [part.slice(0, eq).toLowerCase(), part.slice(eq + 1)] as const;
  }));
  const explicit = fields.get('blobendpoint');
  if (explicit) return explicit;
  const account = fields.get('accountname');
  if (!account) return undefined;
  return `${fields.get('defaultendpointsprotocol') ?? 'https'}://${account}.blob.${fields.get('endpointsuffix') ?? 'core.windows.net'}`;
}

/** What went wrong, and what to do about it. */
export function describeAzureError(error: unknown, options: AzureBlobStoreOptions, endpoint: string, key?: string): string {
  const e = error as { name?: string; code?: string; statusCode?: number; message?: string; cause?: { code?: string } };
  const code = e.code ?? e.cause?.code ?? e.name ?? 'Error';
  const what = `azure://${options.account}/${options.container}/${key ?? ''}`;
  const identity = options.identity ?? (options.connectionString ? 'the connection string' : 'the Azure default credential chain');
  if (code === 'ContainerNotFound') {
    return `container "${options.container}" does not exist in storage account "${options.account}" (${endpoint}): create it, or fix \`azureBlob.container\``;
  }
  if (code === 'BlobNotFound') return `${what} does not exist`;
  if (e.name === 'CredentialUnavailableError' || e.name === 'AggregateAuthenticationError') {
    return `no Azure credentials for ${what}: in a pod, the ServiceAccount needs the annotation azure.workload.identity/client-id and the pod the label azure.workload.identity/use: "true" (with the workload identity webhook installed); on a workstation run \`az login\` (${firstLine(e.message)})`;
  }
  if (e.name === 'AuthenticationError') {
    return `Azure sign-in failed for ${identity} (${firstLine(e.message)}): check the federated credential of the identity (issuer and subject system:serviceaccount:<namespace>:<serviceaccount>)`;
  }
  if (['AuthenticationFailed', 'AuthorizationFailure', 'AuthorizationPermissionMismatch', 'InsufficientAccountPermissions', 'AccountIsDisabled'].includes(code) || e.statusCode === 403 || e.statusCode === 401) {
    return `access denied to ${what} (${code}) for ${identity}: it needs the role "Storage Blob Data Contributor" on the container or account "${options.account}" (a connection string needs a valid account key or a SAS with read, write, list and delete)`;
  }
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/.test(code)) {
    return `TLS to ${endpoint} failed (${code}): point NODE_EXTRA_CA_CERTS at the CA bundle that signed it`;
  }
  if (['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'REQUEST_SEND_ERROR'].includes(code) || e.name === 'AbortError') {
    return `unreachable: ${endpoint} (${e.cause?.code ?? code})`;
  }
  return `${what}: ${code}${e.statusCode ? ` (HTTP ${e.statusCode})` : ''}${firstLine(e.message) && firstLine(e.message) !== code ? `: ${firstLine(e.message)}` : ''}`;
}

function firstLine(text?: string): string {
  return (text ?? '').split('\n')[0].trim();
}
