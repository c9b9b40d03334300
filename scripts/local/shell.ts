// The commands the local stack prints for people to paste: one way to quote a word for a shell.
import * as path from 'path';
import { ROOT } from './settings';

/**
 * A word as one POSIX shell word: bare when plain, else single-quoted (the one quoting in which
 * nothing, `$` and `"` included, is special); a leading `=` quoted too, which zsh (macOS's
 * default shell) would read as `=command`.
 */
export function shellWord(word: string): string {
  return /^[A-Za-z0-9._/+@%,:-][A-Za-z0-9._/+@%=,:-]*$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`;
}

/** A path as one shell word that is never read as an option (`./-x`, not `-x`). */
export function shellPath(p: string): string {
  return shellWord(p.startsWith('-') ? `./${p}` : p);
}

/**
 * `npm run <script>` for a state folder: `--data …` added unless it is the default one, after a
 * `--` unless `script` already carries its own (`local -- next-day`). `shownAs`: the folder as the
 * caller shows paths (relative to where the user started npm), `dataDir` itself by default.
 */
export function npmRunFor(dataDir: string, script: string, shownAs = dataDir): string {
  if (path.resolve(dataDir) === path.join(ROOT, '.local')) return `npm run ${script}`;
  return `npm run ${script}${script.includes(' -- ') ? '' : ' --'} --data ${shellPath(shownAs)}`;
}
