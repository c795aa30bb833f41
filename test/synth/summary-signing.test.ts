// SUMMARY.md says for each cluster whether its backup sets are signed: an unsigned cluster is called out with what
// that allows and where to fix it; a signed one names its key id and Secret.
import { describe, expect, it } from 'vitest';
import { renderInventory } from '../../lib/synth/render';
import { signingKeyId } from '../../lib/storage';
import { inventoryOf, minimalDocument } from '../support/inventory';

const PUBLIC_KEY = 'MCowBQYDK2VwAyEAfleDl8dzPbPA7zReLgSIaJhEyrTJQKj9QiTEW/OWi98=';

describe('SUMMARY.md signing line', () => {
  it('calls an unsigned cluster out and names the key of a signed one', () => {
    const document = minimalDocument();
    document.clusters.alpha.backup = { ...document.clusters.alpha.backup, signing: { publicKey: PUBLIC_KEY } };
    const summary = renderInventory(inventoryOf(document)).get('SUMMARY.md')!;
    const section = (name: string) => summary.slice(summary.indexOf(`## ${name}\n`)).split('\n## ')[0];
    expect(section('alpha')).toContain(`- Signing: every set signed with key \`${signingKeyId(PUBLIC_KEY)}\` (Secret \`alpha-backup-signing\`); restores, drills and retention use only signed sets.\n`);
    expect(section('beta')).toContain('- Signing: **unsigned**: anyone with the storage credential can plant a set that restores and drills take as latest; set `backup.signing` (README, "Signed backups").\n');
  });
});
