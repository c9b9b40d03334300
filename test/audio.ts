/** Small, real audio files made on the fly, so tests need no binary fixtures. */
export { mp3Silence } from '../scripts/lib/mp3-silence';

/** A 16-bit mono PCM WAV with a sine tone. */
export function wavTone(ms = 200, hz = 440, rate = 8000): Buffer {
  const samples = Math.floor((rate * ms) / 1000);
  const data = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; i++) data.writeInt16LE(Math.round(Math.sin((2 * Math.PI * hz * i) / rate) * 8000), i * 2);
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'latin1');
  h.writeUInt32LE(36 + data.length, 4);
  h.write('WAVE', 8, 'latin1');
  h.write('fmt ', 12, 'latin1');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20); // PCM
  h.writeUInt16LE(1, 22); // mono
  h.writeUInt32LE(rate, 24);
  h.writeUInt32LE(rate * 2, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36, 'latin1');
  h.writeUInt32LE(data.length, 40);
  return Buffer.concat([h, data]);
}

/** What `wav()` writes. */
export interface WavSpec {
  rate?: number;
  channels?: number;
  /** Bits per sample: 8/16/24/32 for PCM, 32/64 for float. */
  bits?: number;
  float?: boolean;
  /** Write a WAVE_FORMAT_EXTENSIBLE `fmt ` chunk. */
  extensible?: boolean;
  seconds?: number;
  /** The signal in [-1, 1] at time `t` seconds on `channel`; silence by default. */
  signal?: (t: number, channel: number) => number;
}

/** A WAV of any PCM or float layout, for tests that need more than `wavTone`. */
export function wav(spec: WavSpec = {}): Buffer {
  const { rate = 8000, channels = 1, bits = 16, float = false, extensible = false, seconds = 0.2, signal = () => 0 } = spec;
  const frames = Math.round(rate * seconds);
  const width = bits / 8;
  const data = Buffer.alloc(frames * channels * width);
  const full = 2 ** (bits - 1);
  for (let i = 0, at = 0; i < frames; i++) {
    for (let c = 0; c < channels; c++, at += width) {
      const x = Math.max(-1, Math.min(1, signal(i / rate, c)));
      if (float && bits === 32) data.writeFloatLE(x, at);
      else if (float) data.writeDoubleLE(x, at);
      else if (bits === 8) data.writeUInt8(Math.min(255, Math.round(x * 128) + 128), at);
      else data.writeIntLE(Math.max(-full, Math.min(full - 1, Math.round(x * full))), at, width);
    }
  }
  const fmt = Buffer.alloc(extensible ? 40 : 16);
  fmt.writeUInt16LE(extensible ? 0xfffe : float ? 3 : 1, 0);
  fmt.writeUInt16LE(channels, 2);
  fmt.writeUInt32LE(rate, 4);
  fmt.writeUInt32LE(rate * channels * width, 8);
  fmt.writeUInt16LE(channels * width, 12);
  fmt.writeUInt16LE(bits, 14);
  if (extensible) {
    fmt.writeUInt16LE(22, 16);
    fmt.writeUInt16LE(bits, 18);
    fmt.writeUInt32LE(0, 20);
    Buffer.from(`${float ? '0300' : '0100'}000000001000800000aa00389b71`, 'hex').copy(fmt, 24);
  }
  return riff([['fmt ', fmt], ['data', data]]);
}

/** A RIFF/WAVE file of the given chunks, each padded to an even size as the format requires. */
export function riff(chunks: Array<[string, Buffer]>): Buffer {
  const parts = chunks.flatMap(([id, body]) => {
    const head = Buffer.alloc(8);
    head.write(id, 0, 'latin1');
    head.writeUInt32LE(body.length, 4);
    return body.length % 2 ? [head, body, Buffer.alloc(1)] : [head, body];
  });
  const size = parts.reduce((n, p) => n + p.length, 4);
  const head = Buffer.alloc(12);
  head.write('RIFF', 0, 'latin1');
  head.writeUInt32LE(size, 4);
  head.write('WAVE', 8, 'latin1');
  return Buffer.concat([head, ...parts]);
}

export const PNG_BYTES = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489', 'hex');
