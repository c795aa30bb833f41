/**
 * lib/storage: the one implementation of the bucket layout, completeness, integrity, "latest" and retention, and the
 * object-store clients. Used by the agent (lib/agent) and the CLI (snapshots, check, restore) alike.
 */
export * from './layout';
export * from './sidecar';
export * from './signature';
export * from './sets';
export * from './retention';
export * from './integrity';
export * from './store';
export * from './folder';
export * from './azure-blob';
export * from './gcs';
