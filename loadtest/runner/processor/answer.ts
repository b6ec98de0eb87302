// What one transcription answer tells the load test: the checks k6's lib.js makes (status 200, text,
// the pool header) and the figures its metrics take (audio seconds, server RTF from verbose_json,
// end-to-end RTF). Kept free of Artillery so the processor and the tests share it.

export interface Answer {
  ok: boolean;
  pool: string | null;
  status: number;
  audioS: number | null;
  rtfServer: number | null;
  rtfE2e: number | null;
  /** sending + waiting + receiving, as k6's http_req_duration (no connect time) */
  latencyMs: number;
}

/** got's timing phases, which Artillery's HTTP engine passes to afterResponse hooks */
export interface Phases {
  request?: number;
  firstByte?: number;
  download?: number;
  total?: number;
}

export function readAnswer(status: number, headers: Record<string, string | string[] | undefined>, body: unknown, phases: Phases): Answer {
  const latencyMs = (phases.request ?? 0) + (phases.firstByte ?? 0) + (phases.download ?? 0) || (phases.total ?? 0);
  const header = headers['x-audiodecode-pool'];
  const pool = typeof header === 'string' && header !== '' ? header : null;
  let json: { text?: unknown; duration?: unknown; rtf?: unknown } = {};
  try {
    json = typeof body === 'string' ? JSON.parse(body) : ((body ?? {}) as typeof json);
  } catch {
    // not JSON: the text check below fails it
  }
  const ok = status === 200 && typeof json.text === 'string' && json.text.length > 0 && pool !== null;
  if (!ok) return { ok, pool, status, audioS: null, rtfServer: null, rtfE2e: null, latencyMs };
  const audioS = Number(json.duration);
  return { ok, pool, status, audioS, rtfServer: Number(json.rtf), rtfE2e: audioS / (latencyMs / 1000), latencyMs };
}
