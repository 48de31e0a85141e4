import type { Reporter, TestModule } from 'vitest/node';

/**
 * In CI a skipped or todo test is a failure: a skip could hide a PostgreSQL or Kafka test that
 * never ran. Locally, skips are only reported.
 */
export default class CiGuardReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>) {
    const skipped: string[] = [];
    for (const module of testModules) {
      if (module.state() === 'skipped') skipped.push(module.moduleId);
      for (const test of module.children.allTests()) {
        if (test.result().state === 'skipped') skipped.push(`${module.moduleId} > ${test.fullName}`);
      }
    }
    if (skipped.length === 0) return;
    const list = skipped
      .slice(0, 20)
      .map((name) => `  - ${name}`)
      .join('\n');
    if (process.env.CI === 'true' || process.env.CI === '1') {
      process.stderr.write(`\nCI: ${skipped.length} test(s) skipped; skips fail the run in CI:\n${list}\n`);
      process.exitCode = 1;
    } else {
      process.stderr.write(`\n${skipped.length} test(s) skipped:\n${list}\n`);
    }
  }
}
