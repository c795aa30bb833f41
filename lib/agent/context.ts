/**
 * What every agent command shares: messages on stderr (`controlplane-backup: ...`), exactly one JSON result line on
 * stdout (whatever happens), the scratch directory, the clock, and the stores of the plan's destinations.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { workloadIdentityProblem } from '../storage/s3';
import { LocalStore, S3Store, StorageError, type ObjectStore } from '../storage/store';
import { AzureBlobStore } from '../storage/azure-blob';
import { GcsStore } from '../storage/gcs';
import { AgentError, EXIT } from './exit-codes';
import { expandEnv, type Destination } from './plan';

export interface AgentIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

export class Context {
  /** Fields of the result line, filled in as the command goes: printed even when it fails half-way. */
  readonly result: Record<string, unknown> = {};
  /** The stage the command is in, for the result line. */
  stage = 'config';
  /** Run on SIGTERM/SIGINT before the result line (a few seconds at most): where a command records how it stopped. */
  signalHandler?: () => Promise<unknown>;
  /**
   * Set by a command whose outcome is recorded before its last step (a static pod removing its own manifest, which
   * makes the kubelet stop it): a signal from then on ends the agent with this outcome instead of a failure.
   */
  finished?: { readonly code: number; readonly message: string };
  private readonly stores: ObjectStore[] = [];
  private work?: string;

  constructor(readonly command: string, readonly io: AgentIo, private baseEnv: NodeJS.ProcessEnv, readonly clock: () => Date = () => new Date()) {}

  /** The container's env, with what addEnv added. */
  get env(): NodeJS.ProcessEnv {
    return this.baseEnv;
  }

  /** Adds variables (from an env file on the node) over the container's env, for the stores made after this. */
  addEnv(values: Readonly<Record<string, string>>): void {
    this.baseEnv = { ...this.baseEnv, ...values };
  }

  /** Sets what runs on SIGTERM/SIGINT before the result line is printed. */
  onSignal(handler: () => Promise<unknown>): void {
    this.signalHandler = handler;
  }

  log(message: string): void {
    this.io.err(`controlplane-backup: ${message}\n`);
  }

  /** A private directory in the scratch volume (TMPDIR when set, else the plan's scratch dir), removed at the end. */
  workDir(scratchDir: string): string {
    if (!this.work) {
      const base = this.env.TMPDIR || scratchDir;
      try {
        this.work = mkdtempSync(join(base, `.agent-${this.command}-`));
      } catch (error) {
        throw new AgentError(EXIT.config, `cannot create a work directory in the scratch volume ${base}: ${(error as NodeJS.ErrnoException).code}`, 'config');
      }
    }
    return this.work;
  }

  /** The store of a destination; `$(VAR)` references in endpoint and bucket come from the env. */
  store(destination: Destination): ObjectStore {
    let store: ObjectStore;
    if (destination.kind === 'local') {
      store = new LocalStore(destination.path);
    } else if (destination.kind === 'gcs' || destination.kind === 'azureBlob') {
      this.refusePlainHttp(destination.name, destination.endpoint, destination.insecure);
      if (destination.kind === 'azureBlob' && destination.clientId && !destination.connectionStringEnv) {
        this.requireIdentity(destination.name, 'azure-workloadIdentity');
      }
      store = this.remoteStore(destination);
    } else {
      const credentials = destination.credentials && {
        accessKeyId: this.requireEnv(destination.credentials.accessKeyIdEnv, destination.name),
        secretAccessKey: this.requireEnv(destination.credentials.secretAccessKeyEnv, destination.name),
      };
      const endpoint = expandEnv(destination.endpoint, this.env, `destination ${destination.name}: endpoint`);
      this.refusePlainHttp(destination.name, endpoint, destination.insecure);
      if (destination.identity) this.requireIdentity(destination.name, destination.identity);
      store = this.construct(() => new S3Store({
        endpoint,
        region: destination.region,
        pathStyle: destination.pathStyle,
        bucket: expandEnv(destination.bucket, this.env, `destination ${destination.name}: bucket`),
        ...(credentials ? { credentials } : {}),
        ...(destination.caFile ? { caFile: destination.caFile } : {}),
        ...(destination.sse ? { sse: { type: destination.sse.type, ...(destination.sse.kmsKeyId ? { kmsKeyId: destination.sse.kmsKeyId } : {}) } } : {}),
        ...(destination.insecure ? { insecure: true } : {}),
        ...(destination.objectLock ? { objectLock: { ...destination.objectLock }, clock: this.clock } : {}),
      }));
    }
    this.stores.push(store);
    return store;
  }

  /** What a workload identity needs in the pod (env, token file) is there, or exit 3 naming the missing piece. */
  private requireIdentity(name: string, kind: string): void {
    const problem = workloadIdentityProblem(kind, this.env, (path) => {
      try {
        return readFileSync(path).length > 0 ? undefined : 'it is empty';
      } catch (error) {
        return (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      }
    });
    if (problem) throw new AgentError(EXIT.config, `destination ${name} uses workload identity ${kind}, but ${problem}`, 'config');
  }

  private refusePlainHttp(name: string, endpoint: string | null, insecure: boolean | undefined): void {
    if (endpoint && /^http:/i.test(endpoint) && !insecure) {
      throw new AgentError(EXIT.config, `destination ${name}: refusing to send credentials in clear to ${endpoint}: `
        + 'the plan does not allow plain http: use an https endpoint, or set `insecure: true` on the storage in the inventory and synthesize again', 'config');
    }
  }

  /** The store of a gcs or azureBlob destination, with its key from the env or the pod's workload identity. */
  private remoteStore(destination: Extract<Destination, { kind: 'gcs' | 'azureBlob' }>): ObjectStore {
    if (destination.kind === 'gcs') {
      return new GcsStore({
        bucket: destination.bucket,
        ...(destination.endpoint ? { endpoint: destination.endpoint } : {}),
        ...(destination.keyJsonEnv ? { keyJson: this.requireEnv(destination.keyJsonEnv, destination.name) } : {}),
        identity: destination.authenticatesAs,
      });
    }
    return new AzureBlobStore({
      account: destination.account,
      container: destination.container,
      endpoint: destination.endpoint,
      ...(destination.connectionStringEnv ? { connectionString: this.requireEnv(destination.connectionStringEnv, destination.name) } : {}),
      ...(destination.clientId ? { clientId: destination.clientId } : {}),
      ...(destination.tenantId ? { tenantId: destination.tenantId } : {}),
      identity: destination.authenticatesAs,
    });
  }

  /** A store's refusal to be built (an http endpoint without `insecure`) is configuration: exit 3. */
  private construct(make: () => ObjectStore): ObjectStore {
    try {
      return make();
    } catch (error) {
      if (error instanceof StorageError) throw new AgentError(EXIT.config, error.message, 'config');
      throw error;
    }
  }

  private requireEnv(name: string, destination: string): string {
    const value = this.env[name];
    if (!value) throw new AgentError(EXIT.config, `destination ${destination}: the credential env var ${name} is not set (its Secret key is missing?)`, 'config');
    return value;
  }

  close(): void {
    for (const store of this.stores) store.close();
    if (this.work) rmSync(this.work, { recursive: true, force: true });
  }
}

/** Milliseconds since `start`. */
export const since = (start: number) => Date.now() - start;
