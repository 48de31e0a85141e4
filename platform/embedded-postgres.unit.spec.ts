import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { firstUnreachable, liveServerOf } from './embedded-postgres.ts';

const ROOT = 0;
const postgres = { uid: 999, gid: 999 };

/** A file system of directories: path → mode and owner. */
function tree(entries: Record<string, { mode: number; uid?: number; gid?: number }>) {
  return (path: string) => {
    const entry = entries[path];
    return entry ? { mode: 0o40000 | entry.mode, uid: entry.uid ?? ROOT, gid: entry.gid ?? ROOT } : null;
  };
}

describe('the way to a data directory, for the user PostgreSQL runs as', () => {
  const open = { '/': { mode: 0o755 }, '/srv': { mode: 0o755 }, '/srv/app': { mode: 0o755 } };

  it('is clear when every folder lets others through', () => {
    expect(firstUnreachable('/srv/app/.data', postgres, tree(open))).toBeNull();
  });

  it('stops at the first folder that lets neither its owner, its group nor others in, whichever applies', () => {
    expect(firstUnreachable('/srv/app', postgres, tree({ ...open, '/srv': { mode: 0o700 } }))).toEqual({
      path: '/srv',
      mode: 0o700,
      uid: ROOT,
    });
    // Others may enter, but the user is in the group, and the group may not.
    expect(firstUnreachable('/srv/app', postgres, tree({ ...open, '/srv': { mode: 0o701, gid: 999 } }))?.path).toBe(
      '/srv',
    );
    expect(firstUnreachable('/srv/app', postgres, tree({ ...open, '/srv': { mode: 0o710, gid: 999 } }))).toBeNull();
    expect(firstUnreachable('/srv/app', postgres, tree({ ...open, '/srv': { mode: 0o700, uid: 999 } }))).toBeNull();
    // The owner's own bits apply to the owner, even when others may enter.
    expect(firstUnreachable('/srv/app', postgres, tree({ ...open, '/srv': { mode: 0o071, uid: 999 } }))?.path).toBe(
      '/srv',
    );
  });

  it('checks only what exists: what is created later is created reachable', () => {
    expect(firstUnreachable('/srv/app/not/yet', postgres, tree(open))).toBeNull();
  });
});

describe('the server that holds a data directory', () => {
  const withPidFile = (content: string | null, check: (dir: string) => void) => {
    const dir = mkdtempSync(join(tmpdir(), 'pidfile-'));
    try {
      if (content !== null) writeFileSync(join(dir, 'postmaster.pid'), content);
      check(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  it('is the live process named in postmaster.pid, with its port', () => {
    withPidFile(`${process.pid}\n/data\n1700000000\n5433\n/tmp\n`, (dir) =>
      expect(liveServerOf(dir)).toEqual({ pid: process.pid, port: '5433' }),
    );
  });

  it('is nobody when the file is missing, garbled, or names a process that is gone', () => {
    withPidFile(null, (dir) => expect(liveServerOf(dir)).toBeNull());
    withPidFile('not a pid\n', (dir) => expect(liveServerOf(dir)).toBeNull());
    // Above the kernel's pid_max (2^22): no such process can exist.
    withPidFile(`${2 ** 22 + 1}\n/data\n0\n5433\n`, (dir) => expect(liveServerOf(dir)).toBeNull());
  });
});
