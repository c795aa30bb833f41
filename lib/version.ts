/**
 * The package version, compiled in: the agent bundle has no package.json beside it, and refuses a plan rendered by
 * another version. A test keeps it equal to package.json's.
 */
export const PACKAGE_VERSION = '0.1.0';
