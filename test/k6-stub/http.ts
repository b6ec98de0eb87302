// Stand-in for k6/http (see state.ts).
import { k6State, type Post } from './state.js';

const file = (data: ArrayBuffer, filename: string) => ({ data, filename });

function post(url: string, body: Record<string, unknown>, params: { headers?: Record<string, string>; timeout?: string } = {}) {
  const { file: f, ...fields } = body as { file: ReturnType<typeof file> };
  const p: Post = { url, filename: f.filename, bytes: f.data.byteLength, fields, headers: params.headers ?? {}, timeout: params.timeout };
  k6State.posts.push(p);
  const a = k6State.answer(p);
  return {
    status: a.status,
    headers: { 'X-Audiodecode-Pool': a.pool },
    timings: { duration: 500 },
    json: (selector?: string) => (selector ? a.body[selector] : a.body),
  };
}

export default { post, file };
