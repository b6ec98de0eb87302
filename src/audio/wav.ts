// WAV files already in the engine's format (PCM, 16-bit, 16 kHz, mono) are read where they lie,
// without ffmpeg: starting ffmpeg costs about 60 ms on this machine whatever the file, a fifth of
// a short clip's transcription at tiny.en (jfk: 76 ms of 376). Only that one format is read here,
// by its RIFF header (hand-written: a header walk of a few fields; the npm WAV readers load the
// whole file into memory); every other WAV, and anything odd about one, goes to ffmpeg as before.

/** Where the samples of a 16 kHz mono 16-bit PCM WAV lie, or null when `header` is not one (or its data chunk starts past it). */
export function pcm16Layout(header: Uint8Array, fileBytes: number): { dataOffset: number; samples: number } | null {
  const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
  const tag = (at: number): string => String.fromCharCode(...header.subarray(at, at + 4));
  if (header.byteLength < 12 || tag(0) !== 'RIFF' || tag(8) !== 'WAVE') return null;
  let format = false;
  for (let at = 12; at + 8 <= header.byteLength; ) {
    const id = tag(at);
    const size = view.getUint32(at + 4, true);
    if (id === 'fmt ') {
      if (size < 16 || at + 24 > header.byteLength) return null;
      const [codec, channels, rate, align, bits] = [view.getUint16(at + 8, true), view.getUint16(at + 10, true), view.getUint32(at + 12, true), view.getUint16(at + 20, true), view.getUint16(at + 22, true)];
      if (codec !== 1 || channels !== 1 || rate !== 16000 || align !== 2 || bits !== 16) return null;
      format = true;
    } else if (id === 'data') {
      if (!format) return null;
      const dataOffset = at + 8;
      // a size past the end (a recording cut short, or a streamed header's 0xFFFFFFFF): what is there, as ffmpeg reads it
      const samples = Math.floor(Math.min(size, fileBytes - dataOffset) / 2);
      return samples > 0 ? { dataOffset, samples } : null;
    }
    at += 8 + size + (size % 2); // chunks are padded to an even size
  }
  return null;
}
