/**
 * The stores of a command line's targets, one per location for the length of a command, each with the user's own
 * login: the AWS SDK's default chain for S3, Application Default Credentials for GCS, and for Azure Blob the
 * connection string in AZURE_STORAGE_CONNECTION_STRING (what `az storage` reads) or else the Azure default chain
 * (`az login`, environment, managed identity). `destroy()` closes every connection, so the process exits as soon as
 * the command is done.
 */
import { AzureBlobStore } from './azure-blob';
import { GcsStore } from './gcs';
import { StorageError } from './s3';
import { S3Clients, type ObjectStore } from './store';
import type { StoreLocation } from './targets';

export class StoreClients {
  private readonly s3 = new S3Clients();
  private readonly others = new Map<string, ObjectStore>();

  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {}

  store(location: StoreLocation): ObjectStore {
    if (location.kind !== 'gcs' && location.kind !== 'azureBlob') return this.s3.store(location);
    if (/^http:/i.test(location.endpoint) && !location.insecure) {
      throw new StorageError(`refusing to send credentials in clear to ${location.endpoint}: use https, or set \`insecure: true\` on the storage`);
    }
    const key = location.kind === 'gcs'
      ? ['gcs', location.endpoint, location.bucket].join('\u0000')
      : ['azureBlob', location.endpoint, location.container].join('\u0000');
    let known = this.others.get(key);
    if (!known) {
      // An endpoint that drops packets must fail in seconds, not hang a command.
      known = location.kind === 'gcs'
        ? new GcsStore({ bucket: location.bucket, endpoint: location.endpoint, maxRetries: 1, requestTimeoutMs: 30_000, identity: 'your Application Default Credentials (gcloud auth application-default login, or GOOGLE_APPLICATION_CREDENTIALS)' })
        : new AzureBlobStore({
          account: location.account, container: location.container, endpoint: location.endpoint, maxAttempts: 2, requestTimeoutMs: 30_000,
          ...(this.env.AZURE_STORAGE_CONNECTION_STRING
            ? { connectionString: this.env.AZURE_STORAGE_CONNECTION_STRING, identity: 'the connection string in AZURE_STORAGE_CONNECTION_STRING' }
            : { identity: 'your Azure login (az login, or the AZURE_* environment)' }),
        });
      this.others.set(key, known);
    }
    return known;
  }

  destroy(): void {
    this.s3.destroy();
    for (const store of this.others.values()) store.close();
    this.others.clear();
  }
}
