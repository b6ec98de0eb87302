// `helm test` pod: one request through the router, checked for an OpenAI-shaped answer.
// The image carries no speech sample, so the audio is a synthesized tone: this checks the path
// (router -> pool -> engine -> answer), not the words.
const url = process.env.ROUTER_URL ?? 'http://127.0.0.1:8080';

function toneWav(seconds: number): Uint8Array {
  const rate = 16000;
  const n = rate * seconds;
  const buf = Buffer.alloc(44 + n * 2);
  buf.write('RIFF', 0);
  buf.writeUInt32LE(36 + n * 2, 4);
  buf.write('WAVEfmt ', 8);
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(1, 20);
  buf.writeUInt16LE(1, 22);
  buf.writeUInt32LE(rate, 24);
  buf.writeUInt32LE(rate * 2, 28);
  buf.writeUInt16LE(2, 32);
  buf.writeUInt16LE(16, 34);
  buf.write('data', 36);
  buf.writeUInt32LE(n * 2, 40);
  for (let i = 0; i < n; i++) buf.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / rate)), 44 + i * 2);
  return new Uint8Array(buf);
}

const form = new FormData();
form.append('file', new Blob([Buffer.from(toneWav(1))]), 'tone.wav');
form.append('model', 'whisper-1');
form.append('response_format', 'verbose_json');
const res = await fetch(`${url}/v1/audio/transcriptions`, { method: 'POST', body: form });
const body = (await res.json()) as { text?: unknown; duration?: number };
const pool = res.headers.get('x-audiodecode-pool');
if (res.status !== 200 || typeof body.text !== 'string' || Math.abs((body.duration ?? 0) - 1) > 0.05 || !pool) {
  console.error(`helm test failed: HTTP ${res.status}, pool ${pool}, body ${JSON.stringify(body)}`);
  process.exit(1);
}
console.log(`helm test passed: HTTP 200 from the ${pool} pool (${res.headers.get('x-audiodecode-instance')}), ${body.duration} s of audio`);
