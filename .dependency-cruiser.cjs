/**
 * The layering of lib/, written down once (STYLE.md "The shape of the house"); `npm test` runs it
 * (test/layering.test.ts: `depcruise --config` on lib/, the same as --validate), so a back edge fails the build naming the rule.
 *
 *   inventory -> plan -> constructs -> synth -> cli          (each may use everything to its left)
 *   storage:  inventory's typed model only (the bucket layout, retention, object stores)
 *   agent:    storage and its own plan schemas (lib/agent/plan.ts, lib/agent/restore/plans.ts), never synthesis
 *   library:  the construct library users instantiate (lib/library), beside constructs; lib/index.ts exports all
 *   validate: a leaf (checks synthesized YAML), used by cli and the package entry
 *   leaves:   lib/text.ts, lib/dns-names.ts, lib/package-root.ts, lib/version.ts, lib/quantity.ts, lib/signing-key.ts, and the two name grammars that
 *             everyone reads: lib/storage/layout.ts (bucket keys) and lib/plan/names.ts (Kubernetes object names)
 *
 * An arrow points from the importer to what it imports. Type-only imports count (tsPreCompilationDeps).
 */
const LEAVES = '^lib/(text|dns-names|package-root|version|quantity|signing-key)[.]ts$';
const NAME_GRAMMARS = '^lib/(storage/layout|plan/names)[.]ts$';

/** Rule for one layer: `from` may not import anything matching `to`. */
const layer = (name, comment, from, to, pathNot, fromNot) => ({
  name,
  comment,
  severity: 'error',
  from: { path: from, ...(fromNot ? { pathNot: fromNot } : {}) },
  to: { path: to, ...(pathNot ? { pathNot } : {}) },
});

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'A cycle makes two modules one: move what both need into a third, lower module.',
      severity: 'error',
      from: { path: '^lib/' },
      to: { circular: true },
    },
    layer('leaves-import-nothing', 'The shared leaves (text helpers, package root, version, the two name grammars) import no other module of lib/.',
      `${LEAVES}|${NAME_GRAMMARS}`, '^lib/', `${LEAVES}`),
    layer('inventory-is-the-bottom', 'inventory (shape, rules, defaults) may read only the leaves and the name grammars: no plan, storage, constructs, synth, validate, agent or cli.',
      '^lib/inventory/', '^lib/', `^lib/inventory/|${LEAVES}|${NAME_GRAMMARS}`),
    layer('storage-below-plan', 'storage (bucket layout, retention, object stores) may read the inventory model, never plan, constructs, synth, cli, validate or agent.',
      '^lib/storage/', '^lib/(plan|constructs|synth|cli|validate|agent|library|index)', NAME_GRAMMARS),
    // lib/agent/restore/plans.ts: the restore commands' plan schema (from branch restore), read by lib/plan/restore.ts.
    layer('plan-below-constructs', 'plan makes pure decisions: no constructs, synth, cli or validate; of the agent only its plan schemas (lib/agent/plan.ts, lib/agent/restore/plans.ts).',
      '^lib/plan/', '^lib/(constructs|synth|cli|validate|agent|library|index)', '^lib/agent/(plan|restore/plans)[.]ts$'),
    layer('constructs-below-synth', 'constructs map plans to objects: no synth, cli, validate or agent.',
      '^lib/constructs/', '^lib/(synth|cli|validate|agent|library|index)'),
    layer('synth-below-cli', 'synth renders and writes charts: no cli, validate or agent.',
      '^lib/synth/', '^lib/(cli|validate|agent|library|index)'),
    layer('agent-without-synthesis', 'The agent runs in the pods from a small bundle: storage, its own plan schema and the leaves only (no inventory, plan, constructs, synth, validate or cli).',
      '^lib/agent/', '^lib/(inventory|plan|constructs|synth|validate|cli|library|index)'),
    {
      name: 'agent-without-cdk8s',
      comment: 'The agent bundle must not pull in cdk8s, cdk8s-plus-28, constructs or zod-to-json-schema.',
      severity: 'error',
      from: { path: '^lib/agent/' },
      // Resolved (node_modules/cdk8s/...) or not (cdk8s, in a copy without node_modules), both count.
      to: { path: '(^|node_modules/)(cdk8s|cdk8s-plus-28|constructs|zod-to-json-schema)(/|$)' },
    },
    layer('validate-is-a-leaf', 'validate checks synthesized YAML on its own: it reads only the leaves.',
      '^lib/validate/', '^lib/', `^lib/validate/|${LEAVES}`),
    layer('only-cli-uses-validate', 'validate is used by the command line (and exported by the package entry), by no lower layer.',
      '^lib/', '^lib/validate/', undefined, '^lib/(validate/|cli/|index[.]ts$)'),
    layer('nothing-imports-cli', 'cli is the top: only cli imports cli.',
      '^lib/', '^lib/cli/', undefined, '^lib/cli/'),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^(build|dist|imports)/' },
  },
};
