import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import type { Costs } from '../live.ts';

/**
 * Training (and validation) cost against updates, drawn by uPlot. The chart is made once and
 * given new data as points arrive, so it grows in place.
 */
export function CostChart({ costs, iterations }: { costs: Costs; iterations: number }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const hasValidation = (costs.validationCosts?.length ?? 0) > 0;

  const data: uPlot.AlignedData = [
    costs.costs.map((_, i) => Math.min(i * costs.costEvery, iterations)),
    costs.costs,
    ...(hasValidation ? [costs.costs.map((_, i) => costs.validationCosts?.[i] ?? null)] : []),
  ];

  useEffect(() => {
    const element = box.current;
    if (!element) return;
    const series: uPlot.Series[] = [
      { label: 'update' },
      { label: 'training cost', stroke: '#1f5fbf', width: 2 },
      ...(hasValidation ? [{ label: 'validation cost', stroke: '#b3450e', width: 2, dash: [6, 4] }] : []),
    ];
    const width = () => Math.max(280, Math.min(900, element.clientWidth));
    const chart = new uPlot(
      {
        width: width(),
        height: 280,
        series,
        scales: { x: { time: false } },
        axes: [{ label: 'updates' }, { label: 'cost' }],
      },
      data,
      element,
    );
    plot.current = chart;
    const resize = () => chart.setSize({ width: width(), height: 280 });
    addEventListener('resize', resize);
    return () => {
      removeEventListener('resize', resize);
      chart.destroy();
      plot.current = null;
    };
  }, [hasValidation]);

  useEffect(() => {
    plot.current?.setData(data);
  });

  const last = costs.costs.at(-1);
  return (
    <figure class="chart" data-testid="cost-chart" data-points={costs.costs.length}>
      <div ref={box} aria-hidden="true" />
      <figcaption>
        {costs.costs.length} cost points (one every {costs.costEvery} updates)
        {last !== undefined && last !== null ? `; latest ${last.toFixed(4)}` : ''}
      </figcaption>
    </figure>
  );
}
