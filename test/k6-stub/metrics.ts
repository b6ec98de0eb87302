// Stand-in for k6/metrics (see state.ts).
import { k6State } from './state.js';

class Metric {
  constructor(readonly name: string) {}
  add(value: number, tags?: Record<string, string>) {
    k6State.metrics.push({ name: this.name, value, tags });
  }
}
export class Trend extends Metric {}
export class Counter extends Metric {}
