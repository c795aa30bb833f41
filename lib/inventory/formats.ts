/** Checks of single values. Each returns a sentence for people, or undefined when the value is fine. */
import { isIP } from 'node:net';
import { DNS_LABEL, DNS_LABEL_MAX_LENGTH, DNS_SUBDOMAIN, DNS_SUBDOMAIN_MAX_LENGTH } from '../dns-names';
import { nearest } from '../text';
import { QUANTITY, quantityValue } from '../quantity';

export function dnsLabelProblem(value: string, maxLength = DNS_LABEL_MAX_LENGTH): string | undefined {
  if (value.length === 0) return 'is empty';
  if (value.length > maxLength) return `is ${value.length} characters long; at most ${maxLength} are allowed`;
  if (!DNS_LABEL.test(value)) {
    return 'must be a DNS-1123 label: lower-case letters, digits and "-", starting and ending with a letter or digit';
  }
  return undefined;
}

export function dnsSubdomainProblem(value: string): string | undefined {
  if (value.length > DNS_SUBDOMAIN_MAX_LENGTH) return `is ${value.length} characters long; at most ${DNS_SUBDOMAIN_MAX_LENGTH} are allowed`;
  if (!DNS_SUBDOMAIN.test(value)) {
    return 'must be a DNS-1123 subdomain: lower-case letters, digits, "-" and ".", starting and ending with a letter or digit';
  }
  return undefined;
}

/** The rules storage names share: 3 to `max` characters of a set, a letter or digit at both ends. */
function storageNameProblem(name: string, what: string, max: number, allowed: RegExp, allowedInWords: string): string | undefined {
  if (name.length < 3 || name.length > max) return `is ${name.length} characters long; ${what} have 3 to ${max}`;
  if (!allowed.test(name)) return `may contain only ${allowedInWords}`;
  if (!/^[a-z0-9].*[a-z0-9]$/.test(name)) return 'must begin and end with a letter or digit';
  return undefined;
}

/** S3 general-purpose bucket naming rules (AWS documentation, "Bucket naming rules"). */
export function bucketNameProblem(name: string): string | undefined {
  const shared = storageNameProblem(name, 'bucket names', 63, /^[a-z0-9.-]+$/, 'lower-case letters, digits, "." and "-"');
  if (shared) return shared;
  if (name.includes('..')) return 'must not contain two adjacent periods';
  if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) return 'must not be formatted as an IP address';
  for (const prefix of ['xn--', 'sthree-', 'amzn-s3-demo-']) {
    if (name.startsWith(prefix)) return `must not start with the reserved prefix "${prefix}"`;
  }
  for (const suffix of ['-s3alias', '--ol-s3', '.mrap', '--x-s3', '--table-s3']) {
    if (name.endsWith(suffix)) return `must not end with the reserved suffix "${suffix}"`;
  }
  return undefined;
}

/** Google Cloud Storage bucket names (cloud.google.com/storage/docs/buckets#naming). */
export function gcsBucketNameProblem(name: string): string | undefined {
  const dotted = name.includes('.');
  if (name.length < 3 || name.length > (dotted ? 222 : 63)) {
    return `is ${name.length} characters long; GCS bucket names have 3 to 63 (up to 222 when they contain dots)`;
  }
  if (!/^[a-z0-9._-]+$/.test(name)) return 'may contain only lower-case letters, digits, "-", "_" and "."';
  if (!/^[a-z0-9].*[a-z0-9]$/.test(name)) return 'must begin and end with a letter or digit';
  const long = name.split('.').find((part) => part.length > 63);
  if (long) return `has the dot-separated part "${long}" of ${long.length} characters; each part has at most 63`;
  if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) return 'must not be formatted as an IP address';
  if (name.startsWith('goog')) return 'must not start with "goog" (reserved by Google)';
  if (/g[o0]{2}g[l1]e/.test(name)) return 'must not contain "google" or a look-alike of it (reserved by Google)';
  return undefined;
}

/** Azure storage account names. */
export function azureAccountProblem(name: string): string | undefined {
  if (name.length < 3 || name.length > 24) return `is ${name.length} characters long; storage account names have 3 to 24`;
  if (!/^[a-z0-9]+$/.test(name)) return 'may contain only lower-case letters and digits (no "-" or ".")';
  return undefined;
}

/** Azure Blob container names. */
export function azureContainerProblem(name: string): string | undefined {
  const shared = storageNameProblem(name, 'container names', 63, /^[a-z0-9-]+$/, 'lower-case letters, digits and "-"');
  if (shared) return shared;
  if (name.includes('--')) return 'must not contain two adjacent "-"';
  return undefined;
}

/** An http(s) URL, or the problem with `value` (written like `example`). */
function httpUrl(value: string, example: string): URL | string {
  // Without "scheme://", URL() takes "minio.svc:9000" for scheme "minio.svc".
  if (!/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(value)) return `is not a URL; write it like ${example}`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `is not a URL; write it like ${example}`;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return `uses ${url.protocol.replace(':', '')}; use http or https`;
  return url;
}

/**
 * A service URL that may carry a path (Azure's path-style endpoints, such as an emulator's
 * http://127.0.0.1:10000/devstoreaccount1), but never credentials, a query or a fragment.
 */
export function serviceUrlProblem(value: string): string | undefined {
  const url = httpUrl(value, 'https://account.blob.core.windows.net');
  if (typeof url === 'string') return url;
  if (url.username || url.password || url.search) {
    return 'contains credentials (userinfo or a query such as a SAS token); credentials never go into the inventory: use the storage\'s `credentials`';
  }
  if (url.hash) return 'must not have a fragment ("#...")';
  return undefined;
}

/** Object-key prefix: relative, no empty segments, characters that are safe in every S3 implementation. */
/** The key grammar lives with the bucket layout; validation words it for the inventory. */
export { keyPrefixProblem } from '../storage/layout';

export function endpointProblem(value: string): string | undefined {
  const url = httpUrl(value, 'https://s3.eu-central-1.amazonaws.com');
  if (typeof url === 'string') return url;
  if (url.username || url.password) {
    return 'contains credentials; credentials never go into the inventory: use the storage\'s `credentials`';
  }
  if (url.pathname !== '/' || url.search || url.hash) return 'must be scheme, host and port only (the bucket and prefix have their own fields)';
  return undefined;
}

let knownTimeZones: string[] | undefined;

export function timeZoneProblem(zone: string): string | undefined {
  knownTimeZones ??= [...Intl.supportedValuesOf('timeZone'), 'Etc/UTC', 'UTC'];
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    // Intl also accepts offsets such as "+01:00" and any letter case ("europe/berlin"); the CronJob controller
    // (Go's time.LoadLocation) accepts neither. Aliases such as "US/Eastern" are not in the list: check their case.
    const listed = knownTimeZones.find((known) => known.toLowerCase() === zone.toLowerCase());
    const rightCase = listed !== undefined ? listed === zone : zone.split('/').every((segment) => /^[A-Z]/.test(segment));
    if (/^[A-Za-z]/.test(zone) && zone !== 'Local' && rightCase) return undefined;
  } catch {
    // fall through
  }
  const guess = nearest(zone, knownTimeZones);
  return `is not an IANA time zone${guess ? `; did you mean "${guess}"?` : ' (for example "Etc/UTC" or "Europe/Berlin")'}`;
}

const DURATION = /^([0-9]+)(h|d|w)$/;
const HOURS_PER_UNIT = { h: 1, d: 24, w: 168 } as const;

/** "36h", "30d", "8w" to hours; undefined when malformed. */
export function durationHours(value: string): number | undefined {
  const match = DURATION.exec(value);
  if (!match) return undefined;
  return Number(match[1]) * HOURS_PER_UNIT[match[2] as keyof typeof HOURS_PER_UNIT];
}

export function durationProblem(value: string): string | undefined {
  return durationHours(value) === undefined ? 'is not a duration; write a whole number with h, d or w (e.g. "36h", "30d", "8w")' : undefined;
}

export function quantityProblem(value: string): string | undefined {
  return QUANTITY.test(value) ? undefined : 'is not a Kubernetes quantity (e.g. "100m", "512Mi", "2Gi")';
}

export { quantityValue };

// registry/path:tag, optionally @sha256:digest (docker reference grammar, simplified but strict about what matters).
const IMAGE = /^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-]+[a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$/;

export function imageProblem(value: string): string | undefined {
  if (!IMAGE.test(value)) return 'is not an image reference (e.g. "registry.k8s.io/etcd:3.5.21-0" or "repo/name@sha256:<64 hex>")';
  if (!/:[A-Za-z0-9_][A-Za-z0-9_.-]*$|@sha256:/.test(value.replace(/^[^/]*\//, ''))) {
    return 'has neither a tag nor a digest; pin the image (":<tag>" or "@sha256:<digest>")';
  }
  return undefined;
}

const AGE_RECIPIENT = /^age1[023456789acdefghjklmnpqrstuvwxyz]{58}$/;
const SSH_RECIPIENT = /^(ssh-ed25519|ssh-rsa) [A-Za-z0-9+/]+={0,2}( .*)?$/;

const BECH32 = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';

/** BIP 173 checksum of a lower-case bech32 string (age recipients: hrp "age"); one mistyped character fails it. */
function bech32ChecksumValid(value: string): boolean {
  const separator = value.lastIndexOf('1');
  const hrp = value.slice(0, separator);
  const data = [...value.slice(separator + 1)].map((c) => BECH32.indexOf(c));
  if (separator < 1 || data.length < 6 || data.includes(-1)) return false;
  const GENERATOR = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
  let checksum = 1;
  for (const value of [...[...hrp].map((c) => c.charCodeAt(0) >> 5), 0, ...[...hrp].map((c) => c.charCodeAt(0) & 31), ...data]) {
    const top = checksum >> 25;
    checksum = ((checksum & 0x1ffffff) << 5) ^ value;
    for (let i = 0; i < 5; i++) if ((top >> i) & 1) checksum ^= GENERATOR[i];
  }
  return checksum === 1;
}

export function ageRecipientProblem(value: string): string | undefined {
  if (value.startsWith('AGE-SECRET-KEY-')) {
    return 'is an age identity (a private key); put only recipients (public keys, "age1...") in the inventory';
  }
  if (AGE_RECIPIENT.test(value)) {
    return bech32ChecksumValid(value) ? undefined : 'has a wrong checksum: a character was mistyped or lost; copy the recipient again (`age-keygen -y` prints it from the identity file)';
  }
  if (SSH_RECIPIENT.test(value)) return undefined;
  return 'is not an age recipient ("age1" followed by 58 bech32 characters, or an ssh-ed25519/ssh-rsa public key)';
}

export function ipProblem(value: string): string | undefined {
  // node:net is strict about both ("1::2::3" and "10.0.0.01" are not addresses); a zone id ("%eth0") has no place in a URL.
  if (isIP(value) !== 0 && !value.includes('%')) return undefined;
  return 'is not an IPv4 or IPv6 address';
}

export function absolutePathProblem(value: string): string | undefined {
  if (!value.startsWith('/')) return 'must be an absolute path';
  if (value.split('/').some((segment) => segment === '..')) return 'must not contain ".."';
  if (/[\s'"$`\\]/.test(value)) return 'must not contain spaces, quotes, "$", "`" or "\\"';
  return undefined;
}

/** Keys of a ConfigMap or Secret (Kubernetes: `[-._a-zA-Z0-9]+`, at most 253); they also become file names in pods. */
export function objectKeyProblem(value: string): string | undefined {
  if (/^[-._a-zA-Z0-9]{1,253}$/.test(value) && value !== '.' && value !== '..') return undefined;
  return 'is not a key of a ConfigMap or Secret: use letters, digits, "-", "_" and "." only (e.g. "ca.crt")';
}

/** A path relative to a volume's root that stays inside it. */
export function volumeSubPathProblem(value: string): string | undefined {
  if (value === '') return undefined;
  const segments = value.split('/');
  if (segments.every((segment) => /^[A-Za-z0-9._-]+$/.test(segment) && segment !== '.' && segment !== '..')) return undefined;
  return 'must be a relative path inside the volume without "." or ".." segments, such as "default.etcd"';
}

/** Folders of the node that a backup must never write into, with what they are (exactly, or anything inside them). */
const SYSTEM_TREES: Record<string, string> = {
  '/etc': 'a system directory', '/usr': 'a system directory', '/bin': 'a system directory', '/sbin': 'a system directory',
  '/lib': 'a system directory', '/lib32': 'a system directory', '/lib64': 'a system directory', '/boot': 'a system directory',
  '/dev': 'a system directory', '/proc': 'a system directory', '/sys': 'a system directory', '/run': 'a system directory',
  '/var/run': 'a system directory', '/root': 'a system directory', '/var/lib/etcd': 'etcd\'s data directory',
  '/var/lib/kubelet': 'the kubelet\'s directory', '/var/lib/containerd': 'a system directory', '/var/log': 'a system directory',
};
/** Folders that are fine to write below, but not into themselves. */
const SYSTEM_FOLDERS = new Set(['/var', '/var/lib', '/home']);

/** What a written host folder is when it is a system one (`"/etc" is a system directory`), else undefined. */
export function systemDirectoryProblem(value: string): string | undefined {
  const path = value.replace(/\/+$/, '') || '/';
  if (path === '/') return `${JSON.stringify(value)} is the root directory`;
  if (SYSTEM_TREES[path]) return `${JSON.stringify(value)} is ${SYSTEM_TREES[path]}`;
  if (SYSTEM_FOLDERS.has(path)) return `${JSON.stringify(value)} is a system directory`;
  const tree = Object.keys(SYSTEM_TREES).find((root) => path.startsWith(`${root}/`));
  return tree ? `${JSON.stringify(value)} is inside ${tree}, ${SYSTEM_TREES[tree]}` : undefined;
}

/** Names that JavaScript objects already have (`constructor`, `__proto__`, ...): never usable as entry names. */
export function reservedNameProblem(value: string): string | undefined {
  if (value === '__proto__' || value === 'prototype' || Object.getOwnPropertyNames(Object.prototype).includes(value)) {
    return 'is reserved (a built-in property name of JavaScript objects); choose another name';
  }
  return undefined;
}

/** An IAM role ARN, as IRSA, a projected token's AssumeRoleWithWebIdentity and EKS Pod Identity name it. */
export function roleArnProblem(value: string): string | undefined {
  if (/^arn:aws(-[a-z]+)*:iam::[0-9]{12}:role\/[\w+=,.@/-]{1,512}$/.test(value)) return undefined;
  return 'is not an IAM role ARN: expected "arn:aws:iam::<12-digit account id>:role/<role name>" (the role the pods assume)';
}
