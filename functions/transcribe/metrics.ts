// Prometheus metrics of one transcription instance (prom-client).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export function createMetrics(queuedWindows: () => number) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    requests: new Counter({ name: 'audiodecode_requests_total', help: 'Transcription requests by HTTP status', labelNames: ['status'], registers: [registry] }),
    latency: new Histogram({
      name: 'audiodecode_request_seconds',
      help: 'Transcription request latency by HTTP status',
      labelNames: ['status'],
      buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300],
      registers: [registry],
    }),
    audioSeconds: new Counter({ name: 'audiodecode_audio_seconds_total', help: 'Seconds of audio transcribed', registers: [registry] }),
    rtf: new Histogram({ name: 'audiodecode_rtf', help: 'Real-time factor per request (audio s / wall s)', buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500], registers: [registry] }),
    inFlight: new Gauge({ name: 'audiodecode_in_flight_requests', help: 'Requests admitted and not yet answered', registers: [registry] }),
    queueDepth: new Gauge({
      name: 'audiodecode_queue_depth',
      help: 'Audio windows waiting for a batch',
      registers: [registry],
      collect() {
        this.set(queuedWindows());
      },
    }),
    batchSize: new Histogram({ name: 'audiodecode_batch_size', help: 'Windows per inference batch', buckets: [1, 2, 4, 8, 16, 24, 32], registers: [registry] }),
    modelLoadSeconds: new Gauge({ name: 'audiodecode_model_load_seconds', help: 'Time to load and warm the model', registers: [registry] }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
