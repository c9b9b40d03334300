/**
 * The folders a start of the stack created, so a start that fails can take them away again: an
 * operator who mistyped `--drop` or hit a busy port should not find an empty drop folder, state
 * folder or `failed/` left behind as if the stack had run there.
 */
import * as fs from 'fs';
import * as path from 'path';

/** Creates folders like `mkdir -p` and remembers which of them did not exist before. */
export class MadeDirs {
  private readonly made = new Set<string>();

  /** Creates `dir` and its missing parents; only those this call created are remembered. */
  make(dir: string): void {
    const first = fs.mkdirSync(dir, { recursive: true });
    if (first === undefined) return; // it existed: never ours to remove
    // mkdir -p creates everything from the first missing folder down to `dir`, and nothing else.
    const top = path.resolve(first);
    for (let d = path.resolve(dir); ; d = path.dirname(d)) {
      this.made.add(d);
      if (d === top || path.dirname(d) === d) break;
    }
  }

  /**
   * Removes the remembered folders that are empty now, deepest first (so a parent emptied by its
   * child's removal goes too); returns those removed. `rmdir` itself refuses a folder that holds
   * anything, so a file put there meanwhile (a drop, another stack's lock) is never lost.
   */
  removeEmpty(): string[] {
    const removed: string[] = [];
    const deepestFirst = [...this.made].sort((a, b) => b.split(path.sep).length - a.split(path.sep).length || (a < b ? 1 : -1));
    for (const d of deepestFirst) {
      try {
        fs.rmdirSync(d);
        removed.push(d);
        this.made.delete(d);
      } catch {
        // Not empty, or gone already: left as it is.
      }
    }
    return removed;
  }
}
