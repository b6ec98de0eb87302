// stream=true answers: OpenAI's streaming transcription events as server-sent events, which the
// openai SDKs parse (`transcript.text.delta`, `transcript.text.segment`, `transcript.text.done`;
// an `{"error": ...}` event when the work fails after the stream has begun).
import type { ServerResponse } from 'node:http';
import type { Segment, TranscriptionResult } from '../../src/index.js';
import { errorBody, type HttpError } from '../shared/http-errors.js';

export class TranscriptEvents {
  private started = false;

  constructor(private readonly res: ServerResponse) {}

  /** The stream's headers go out with the first event, so a request that fails before any text gets an ordinary JSON error. */
  get open(): boolean {
    return this.started;
  }

  segment(segment: Segment): void {
    this.send({ type: 'transcript.text.delta', delta: segment.text });
    this.send({ type: 'transcript.text.segment', id: String(segment.id), start: segment.start, end: segment.end, text: segment.text });
  }

  done(result: TranscriptionResult, verbose: object): void {
    this.send({ ...verbose, type: 'transcript.text.done', text: result.text, usage: { type: 'duration', seconds: result.duration } });
    this.res.end();
  }

  fail(err: HttpError): void {
    this.send(errorBody(err));
    this.res.end();
  }

  private send(event: object): void {
    if (this.res.destroyed) return;
    if (!this.started) {
      this.started = true;
      this.res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache', 'X-Accel-Buffering': 'no' });
    }
    this.res.write(`data: ${JSON.stringify(event)}\n\n`);
  }
}
