import { useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { Schemas } from "../api/client";

/**
 * Requests and cost over time (rows grouped by hour or day). Loaded on its own (React.lazy),
 * so the chart library is not part of the console's first load.
 */
export default function UsageChart({ rows }: { rows: Schemas["UsageRow"][] }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const sorted = [...rows].sort((a, b) => a.group.localeCompare(b.group));
    const data: uPlot.AlignedData = [
      sorted.map((r) => Date.parse(r.group) / 1000),
      sorted.map((r) => r.requests),
      sorted.map((r) => r.cost_usd),
    ];
    const plot = new uPlot(
      {
        width: Math.max(320, Math.min(900, el.clientWidth || 900)),
        height: 260,
        series: [
          {},
          { label: "Requests", stroke: "#0b5cad", width: 2, scale: "n" },
          { label: "Cost (USD)", stroke: "#b3261e", width: 2, scale: "usd" },
        ],
        axes: [{}, { scale: "n" }, { scale: "usd", side: 1, grid: { show: false } }],
      },
      data,
      el,
    );
    return () => plot.destroy();
  }, [rows]);
  return <div ref={ref} role="img" aria-label={`Chart of requests and cost over ${rows.length} periods`} />;
}
