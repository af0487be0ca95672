import { useEffect, useMemo, useRef, useState } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { Schemas } from "../api/client";

/**
 * Requests, tokens and cost over time (rows grouped by hour or day). Loaded on its own
 * (React.lazy), so the chart library is not part of the console's first load. The canvas is
 * decoration for sighted users; the same numbers are in a visually hidden table, which screen
 * readers (and the browser tests) read.
 */
export default function UsageChart({
  rows,
  caption = "Usage over time",
  range,
}: {
  rows: Schemas["UsageRow"][];
  caption?: string;
  /** The time axis [from, until) in ms; without it, the axis spans the rows. */
  range?: readonly [number, number];
}) {
  const ref = useRef<HTMLDivElement>(null);
  const scheme = useColorScheme();
  const sorted = useMemo(() => [...rows].sort((a, b) => a.group.localeCompare(b.group)), [rows]);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    // The canvas cannot use CSS variables: axes take the page's text colour, read at draw time
    // (and redrawn when the OS switches between light and dark).
    const ink = getComputedStyle(el).color || "#1a1d21";
    const grid = { stroke: "rgb(128 128 128 / 25%)" };
    const data: uPlot.AlignedData = [
      sorted.map((r) => Date.parse(r.group) / 1000),
      sorted.map((r) => r.requests),
      sorted.map((r) => r.prompt_tokens + r.completion_tokens),
      sorted.map((r) => r.cost_usd),
    ];
    const plot = new uPlot(
      {
        width: Math.max(280, Math.min(900, el.clientWidth || 900)),
        height: 260,
        series: [
          {},
          { label: "Requests", stroke: "#0b5cad", width: 2, scale: "n" },
          { label: "Tokens", stroke: "#2e7d32", width: 2, scale: "tok" },
          { label: "Cost (USD)", stroke: "#b3261e", width: 2, scale: "usd" },
        ],
        scales: range ? { x: { time: true, range: () => [range[0] / 1000, range[1] / 1000] } } : {},
        axes: [
          { stroke: ink, grid },
          { scale: "n", stroke: ink, grid },
          {
            scale: "usd",
            side: 1,
            stroke: ink,
            grid: { show: false },
            size: 85,
            values: (_u, splits) => splits.map((v) => `$${Number(v.toPrecision(2))}`),
          },
        ],
      },
      data,
      el,
    );
    return () => plot.destroy();
  }, [sorted, range, scheme]);
  return (
    <div className="chart">
      <div ref={ref} aria-hidden="true" />
      <table className="visually-hidden">
        <caption>{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Period</th>
            <th scope="col">Requests</th>
            <th scope="col">Tokens</th>
            <th scope="col">Cost (USD)</th>
          </tr>
        </thead>
        <tbody>
          {sorted.map((r) => (
            <tr key={r.group}>
              <th scope="row">{new Date(r.group).toLocaleString()}</th>
              <td>{r.requests}</td>
              <td>{r.prompt_tokens + r.completion_tokens}</td>
              <td>{r.cost_usd.toFixed(6)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** "dark" or "light", following the OS preference as it changes. */
function useColorScheme(): "dark" | "light" {
  const query = useMemo(
    () =>
      typeof window.matchMedia === "function" ? window.matchMedia("(prefers-color-scheme: dark)") : null,
    [],
  );
  const [dark, setDark] = useState(query?.matches ?? false);
  useEffect(() => {
    if (!query) return;
    const onChange = (e: MediaQueryListEvent) => setDark(e.matches);
    query.addEventListener("change", onChange);
    return () => query.removeEventListener("change", onChange);
  }, [query]);
  return dark ? "dark" : "light";
}
