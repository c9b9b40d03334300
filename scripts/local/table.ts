/**
 * Terminal columns measured in display cells, not UTF-16 units: a Chinese character takes two
 * cells, so `padEnd` alone misaligns every row with a Chinese file name. `string-width` 4 is the
 * last CommonJS release of the library, which this project's CommonJS scripts and jest can load.
 */
import stringWidth = require('string-width');

/**
 * `text` with control characters written as escapes (`\t`, `\n`, `\x1b`): a name with a line
 * break or tab would otherwise break a table's row or a terminal line in two, and an escape
 * sequence would reach the operator's terminal.
 */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f]/g, (c) => ({ '\t': '\\t', '\n': '\\n', '\r': '\\r' })[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/**
 * Each of `keys` as shown in a list of them, marked where another key of the list looks the same
 * but is written with other code points (Unicode NFC, or NFD as macOS writes `é`: `e` and an
 * accent): a trial's `café.mp3` dropped twice, once each way, read as one name listed twice.
 */
export function distinctKeys(keys: string[]): string[] {
  return keys.map((k) =>
    keys.some((o) => o !== k && o.normalize('NFC') === k.normalize('NFC')) ? `${k} (written ${k === k.normalize('NFC') ? 'composed, Unicode NFC' : 'decomposed, Unicode NFD'}: another name here looks the same)` : k,
  );
}

/** Display width of `text` in terminal cells (CJK wide characters count 2, ANSI escapes 0). */
export const displayWidth = (text: string): number => stringWidth(text);

/** Pads `text` with spaces to `width` display cells (never cuts it). */
export function padEndWidth(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - displayWidth(text)));
}

/** Cuts `text` to at most `max` display cells, marking the cut with `…`. */
export function truncateWidth(text: string, max: number): string {
  if (displayWidth(text) <= max) return text;
  let out = '';
  for (const ch of text) {
    if (displayWidth(out + ch) > max - 1) break;
    out += ch;
  }
  return `${out}…`;
}

/**
 * Cuts `text` to at most `max` display cells by taking out its middle, marked with `…`: for keys
 * and paths, whose start (the folder) and end (the name and extension) say which file it is.
 */
export function truncateMiddleWidth(text: string, max: number): string {
  if (displayWidth(text) <= max) return text;
  const chars = Array.from(text);
  let head = '';
  let tail = '';
  for (let i = 0, j = chars.length - 1; i <= j; ) {
    // Alternating ends, so both keep about half of the room.
    const takeHead = displayWidth(head) <= displayWidth(tail);
    const next = takeHead ? head + chars[i] : chars[j] + tail;
    if (displayWidth(next) + displayWidth(takeHead ? tail : head) > max - 1) break;
    if (takeHead) {
      head = next;
      i++;
    } else {
      tail = next;
      j--;
    }
  }
  return `${head}…${tail}`;
}

/**
 * A column: its heading and, optionally, a cap on its width (longer cells are cut with `…`, at
 * their end or, with `cut: 'middle'`, in their middle).
 */
export interface Column {
  header: string;
  maxWidth?: number;
  cut?: 'end' | 'middle';
}

/**
 * Lays rows out in aligned columns two spaces apart. The last column is not padded, so lines
 * carry no trailing spaces.
 */
export function renderTable(columns: Column[], rows: string[][]): string[] {
  const cut = (c: Column, text: string) => (!c.maxWidth ? text : c.cut === 'middle' ? truncateMiddleWidth(text, c.maxWidth) : truncateWidth(text, c.maxWidth));
  const cells = rows.map((row) => columns.map((c, i) => cut(c, printable(row[i] ?? ''))));
  const widths = columns.map((c, i) => Math.max(displayWidth(c.header), ...cells.map((r) => displayWidth(r[i]))));
  const line = (r: string[]) =>
    r
      .map((cell, i) => (i === r.length - 1 ? cell : padEndWidth(cell, widths[i])))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...cells.map(line)];
}
