/**
 * Entry points that take no arguments answer `--help` (or `-h`) with their usage and exit 0, before
 * they read configuration or touch a database; any other argument is a usage error (exit 2), so a
 * mistyped flag is never silently ignored.
 */
export function answerUsage(usage: string, argv: readonly string[] = process.argv.slice(2)): void {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${usage.trim()}\n`);
    process.exit(0);
  }
  if (argv.length > 0) {
    process.stderr.write(`unknown argument ${argv[0]}; see --help\n`);
    process.exit(2);
  }
}
