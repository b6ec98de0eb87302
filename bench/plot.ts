// The benchmark's chart: RTF per workload and engine, as SVG, by vega-lite rendered headless (no
// browser or canvas needed for SVG).
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

interface PlotRow {
  engine: string;
  model: string;
  workload: string;
  computeType: string;
  beam: number;
  rtf: number;
}

export async function rtfChartSvg(rows: PlotRow[]): Promise<string> {
  // One panel per model and job (greedy int8, greedy float, beam 5): a peer that runs that job at
  // another precision (openai-whisper's float32, whisper.cpp's f16) shows it in its bar's name.
  const values = rows.map((r) => {
    const [job, precision] = r.beam > 1 ? [`beam ${r.beam}`, 'int8'] : r.computeType === 'int8' ? ['int8, greedy', 'int8'] : ['float32, greedy', 'float32'];
    return { ...r, setting: `${r.model}, ${job}`, engine: r.computeType === precision ? r.engine : `${r.engine} (${r.computeType})` };
  });
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Real-time factor (audio s / wall s, higher is faster) on CPU',
    data: { values },
    mark: 'bar',
    encoding: {
      row: { field: 'setting', type: 'nominal', title: null },
      x: { field: 'workload', type: 'nominal', title: null, sort: null },
      xOffset: { field: 'engine', type: 'nominal' },
      y: { field: 'rtf', type: 'quantitative', title: 'RTF' },
      color: { field: 'engine', type: 'nominal' },
      tooltip: [{ field: 'rtf' }],
    },
    width: 520,
    height: 160,
  };
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  return view.toSVG();
}
