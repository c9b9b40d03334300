/**
 * Names an operator can give a file that the stack must survive: a failed file whose note would be
 * longer than a file name may be, a second one beside it, names with control characters.
 */
import * as fs from 'fs';
import * as path from 'path';
import { mp3Silence, PNG_BYTES } from './audio';
import { killAll, Proc, stackArgs, tempDirs } from './local-helpers';

afterEach(killAll);

const bytes = (s: string) => Buffer.byteLength(s);

test('a failed file whose note would be too long a name gets a shortened note; the stack stays up', async () => {
  const dirs = tempDirs();
  const stack = Proc.stack(stackArgs(dirs));
  await stack.waitFor((l) => l.type === 'ready', 'ready', 15000);

  // 250 bytes: the file fits (255), `<name>.error.txt` would not.
  const long = `${'b'.repeat(246)}.mp3`;
  fs.writeFileSync(path.join(dirs.drop, long), PNG_BYTES);
  const failed = await stack.fileEvent(long, 'failed', 15000);
  expect(failed.movedTo).toBe(`failed/${long}`);
  const note = String(failed.note);
  expect(note).toMatch(/^failed\/b+…\.mp3\.error\.txt$/);
  expect(bytes(path.basename(note))).toBeLessThanOrEqual(255);
  expect(fs.readFileSync(path.join(dirs.drop, note), 'utf8')).toContain(`${long} could not be registered`);

  // 80 Chinese characters (240 bytes), the same bad file twice: the second's note, with " (2)",
  // would be 258 bytes. Both notes keep their clash number.
  const chinese = `${'长'.repeat(80)}.mp3`;
  fs.writeFileSync(path.join(dirs.drop, chinese), PNG_BYTES);
  const first = await stack.fileEvent(chinese, 'failed', 15000);
  expect(first).toMatchObject({ movedTo: `failed/${chinese}`, note: `failed/${chinese}.error.txt` });
  const seen = stack.lines.length;
  fs.writeFileSync(path.join(dirs.drop, chinese), PNG_BYTES);
  const second = await stack.fileEvent(chinese, 'failed', 15000, seen);
  expect(second.movedTo).toBe(`failed/${'长'.repeat(80)} (2).mp3`);
  expect(String(second.note)).toMatch(/^failed\/长+… \(2\)\.mp3\.error\.txt$/);
  expect(bytes(path.basename(String(second.note)))).toBeLessThanOrEqual(255);
  expect(fs.existsSync(path.join(dirs.drop, String(second.note)))).toBe(true);

  // Still running, and still taking files.
  fs.writeFileSync(path.join(dirs.drop, 'after.mp3'), mp3Silence(5));
  await stack.fileEvent('after.mp3', 'uploaded', 15000);
  expect(stack.lines.filter((l) => l.state === 'error')).toEqual([]);
  expect(stack.stderr).toBe('');
  await stack.stop();
  dirs.cleanup();
}, 40000);
