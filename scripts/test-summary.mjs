// Prints vitest's JSON report as one plain closing line, "vitest: N passed, N failed, N skipped", for CI logs.
import { readFileSync } from 'node:fs';

const file = process.argv[2] ?? '.tmp/vitest-report.json';
const report = JSON.parse(readFileSync(file, 'utf8'));
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
console.log(`vitest: ${report.numPassedTests} passed, ${report.numFailedTests} failed, ${skipped} skipped`);
process.exitCode = report.numTotalTests > 0 && report.numFailedTests === 0 && report.success ? 0 : 1;
