/**
 * Prompts for the bench, made on the fly: a silent MPEG-1 Layer III stream (128 kbit/s,
 * 44.1 kHz) behind an ID3v2 tag, the shape of a real encoder's output, so the functions' audio
 * checks do their normal work on it.
 */

/** `seconds` of silent 128 kbit/s mp3 (about 16 KB a second). */
export function benchMp3(seconds: number): Buffer {
  const frames = Math.max(1, Math.round((seconds * 44100) / 1152));
  const bytesPerFrame = (144 * 128000) / 44100; // 417.96: some frames carry the padding byte
  const body = Buffer.concat(
    Array.from({ length: frames }, (_, i) => {
      const padded = Math.floor((i + 1) * bytesPerFrame) - Math.floor(i * bytesPerFrame) === 418;
      const frame = Buffer.alloc(padded ? 418 : 417);
      frame.set([0xff, 0xfb, padded ? 0x92 : 0x90, 0x64]);
      return frame;
    }),
  );
  return Buffer.concat([Buffer.from([0x49, 0x44, 0x33, 0x04, 0, 0, 0, 0, 0, 0]), body]);
}
