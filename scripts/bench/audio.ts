/**
 * Prompts for the bench, made on the fly with the tests' own builder: a silent MPEG-1 Layer III
 * stream (128 kbit/s, 44.1 kHz) behind an ID3v2 tag, the shape of a real encoder's output, so
 * the functions' audio checks do their normal work on it.
 */
import { mp3Silence } from '../lib/mp3-silence';

/** `seconds` of silent 128 kbit/s mp3 (about 16 KB a second). */
export function benchMp3(seconds: number): Buffer {
  return mp3Silence(Math.max(1, Math.round((seconds * 44100) / 1152)));
}
