/** Silent MP3 made on the fly: the tests' fixtures and the bench's prompts, with no binary files. */

/**
 * MPEG-1 Layer III frames (128 kbit/s, 44.1 kHz, silent), optionally behind an ID3v2 tag. Like a
 * real encoder's, some frames carry the padding byte so the stream averages exactly 128 kbit/s.
 */
export function mp3Silence(frames = 10, withId3 = true): Buffer {
  const bytesPerFrame = (144 * 128000) / 44100; // 417.96
  const body = Buffer.concat(
    Array.from({ length: frames }, (_, i) => {
      const padded = Math.floor((i + 1) * bytesPerFrame) - Math.floor(i * bytesPerFrame) === 418;
      const frame = Buffer.alloc(padded ? 418 : 417);
      frame.set([0xff, 0xfb, padded ? 0x92 : 0x90, 0x64]);
      return frame;
    }),
  );
  if (!withId3) return body;
  const id3 = Buffer.from([0x49, 0x44, 0x33, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]);
  return Buffer.concat([id3, body]);
}
