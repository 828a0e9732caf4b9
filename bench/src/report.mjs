// The printed table and the hand-written SVG chart.

import { checkTargets, formatTargets } from './targets.mjs';
import { buildLabel } from './wasm-build.mjs';

const TASKS = {
  mha: 'MHA forward',
  'mha-causal': 'MHA causal',
  sdpa: 'SDPA',
  train: 'MHA fwd+bwd',
  memory: 'MHA causal, memory',
  'sdpa-causal': 'SDPA causal',
  'sdpa-window': 'SDPA causal sliding window W = 256',
};

const fmt = (x, digits = 3) => {
  if (x === undefined || x === null || Number.isNaN(x)) return '—';
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1000) return x.toFixed(0);
  if (a >= 0.01) return x.toPrecision(digits);
  return x.toExponential(1);
};

function pad(cells, widths, aligns) {
  return cells.map((c, i) => (aligns[i] === 'l' ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
}

/**
 * How a wasm peer fails past its 4 GiB heap: tfjs-wasm runs out of bounds or memory; onnxruntime-web's
 * 32-bit size arithmetic overflows ("SafeInt … Integer overflow") before it allocates.
 */
const OUT_OF_MEMORY = /out of bounds|out of memory|allocation failed|failed to allocate|bad_alloc|\bOOM\b|maximum memory|integer overflow/i;

/** The line of `text` where `pattern` matches, cut to ~90 characters around the match. */
function around(text, pattern) {
  const line = text.split('\n').find((l) => pattern.test(l)) ?? text.split('\n')[0];
  const at = line.search(pattern);
  return line.slice(Math.max(0, at - 45), at + 45).trim();
}

function memoryCell(r) {
  if (r.peakRssMB === undefined) return '—';
  const delta = r.peakOverBaseMB === null || r.peakOverBaseMB === undefined ? '' : ` (+${r.peakOverBaseMB.toFixed(0)})`;
  return `${r.peakRssMB.toFixed(0)}${delta}`;
}

function agreementCell(r) {
  if (r.refImpl === r.impl) return 'reference';
  if (r.maxAbsDiff === undefined) return '—';
  return `${fmt(r.maxAbsDiff, 2)} (${fmt(r.relDiff, 2)})${r.agrees === false ? ' !! FAIL' : ''}`;
}

/** One table: every task, length and implementation, then the notes needed to read it. */
export function formatTable(results, meta) {
  const header = [
    'task',
    'implementation',
    'build',
    'L',
    'runs',
    'median ms',
    'GFLOP/s',
    'cpu/wall',
    'peak RSS MB (+Δ)',
    'max |Δ| vs heed (rel)',
    'heed speed-up',
  ];
  const aligns = ['l', 'l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'];
  const lines = [];
  const order = ['mha', 'mha-causal', 'sdpa', 'sdpa-causal', 'sdpa-window', 'train', 'memory'];
  const sorted = [...results].sort((a, b) => order.indexOf(a.task) - order.indexOf(b.task) || a.L - b.L);
  let last = '';
  for (const r of sorted) {
    const group = `${r.task}/${r.L}`;
    if (last && group !== last) lines.push(null); // blank separator between (task, L) groups
    last = group;
    const base = [TASKS[r.task] ?? r.task, r.label, r.buildLabel ?? '?', String(r.L)];
    if (r.skipped) lines.push({ base, note: `skipped: ${r.skipped}` });
    else if (r.killed) lines.push({ base, note: `stopped: ${r.killed} (peak RSS seen > ${r.peakRssMB.toFixed(0)} MB)` });
    else if (r.error && r.task === 'memory' && OUT_OF_MEMORY.test(r.error)) {
      lines.push({ base, note: `out of memory (a wasm heap is at most 4 GiB): ${around(r.error, OUT_OF_MEMORY)}` });
    } else if (r.error) lines.push({ base, note: `ERROR: ${r.error.split('\n')[0].slice(0, 100)}` });
    else {
      lines.push({
        base,
        cells: [
          String(r.runs),
          r.medianMs.toFixed(r.medianMs < 10 ? 2 : 1),
          fmt(r.gflops),
          r.cpuPerWall === undefined ? '—' : r.cpuPerWall.toFixed(2),
          memoryCell(r),
          agreementCell(r),
          r.heedSpeedup === undefined ? '' : `${r.heedSpeedup >= 10 ? r.heedSpeedup.toFixed(0) : r.heedSpeedup.toPrecision(2)}×`,
        ],
      });
    }
  }
  const full = lines.filter((l) => l?.cells).map((l) => [...l.base, ...l.cells]);
  const widths = header.map((h, i) =>
    Math.max(h.length, ...full.map((c) => c[i].length), ...(i < 4 ? lines.filter((l) => l).map((l) => l.base[i].length) : [])),
  );
  const out = [];
  out.push(
    `heed bench — ${meta.mode} mode, ${meta.date}, ${meta.cpu}, ${meta.memory}, load average ${meta.loadAverage.start.toFixed(1)} at the start, ${meta.loadAverage.end.toFixed(1)} at the end`,
  );
  const rt = meta.runtime;
  out.push(`children: node ${meta.node} (V8 ${meta.v8}) at ${rt.execPath}`);
  out.push(
    `  flags: ${rt.execArgv.join(' ')}${rt.dropped.length ? `; refused by this node, not passed: ${rt.dropped.map((d) => d.flag).join(' ')}` : ''}`,
  );
  out.push(
    `  parent: node ${rt.parent.node} (V8 ${rt.parent.v8})${rt.parent.execArgv.length ? `, flags ${rt.parent.execArgv.join(' ')}` : ''}`,
  );
  const strays = rt.reportedByChildren.filter((c) => c.node !== meta.node || c.execArgv.join(' ') !== rt.execArgv.join(' '));
  for (const c of strays) out.push(`  !! a child reported node ${c.node}, flags ${c.execArgv.join(' ')}`);
  out.push(
    `peers: ${Object.entries(meta.versions)
      .filter(([p]) => !p.startsWith('@heed'))
      .map(([p, v]) => `${p} ${v}`)
      .join(', ')}`,
  );
  out.push('heed kernels used:');
  for (const [label, info] of Object.entries(meta.heed.kernels)) {
    out.push(`  ${label}: ${info ? `${buildLabel(info.build)} — ${info.kernels}` : 'did not start'}`);
    for (const [task, path] of Object.entries(info?.paths ?? {})) out.push(`      ${TASKS[task] ?? task}: ${path}`);
  }
  if (!meta.heed.detected.wasm)
    out.push('  (no useWasmKernels export in @heed/tensor yet: heed runs on its plain TypeScript kernels only)');
  const peers = Object.entries(meta.peers).filter(([, info]) => info);
  if (peers.length) out.push('peer builds:');
  for (const [label, info] of peers) out.push(`  ${label}: ${buildLabel(info.build)} — ${info.kernels}`);
  out.push('');
  out.push(pad(header, widths, aligns));
  out.push(
    pad(
      widths.map((w) => '-'.repeat(w)),
      widths,
      aligns,
    ),
  );
  for (const l of lines) {
    if (l === null) out.push('');
    else if (l.cells) out.push(pad([...l.base, ...l.cells], widths, aligns));
    else out.push(`${pad(l.base, widths.slice(0, 4), aligns)}  ${l.note}`);
  }
  out.push('');
  out.push(
    'MHA forward: d_model 512, 8 heads, batch 1 (Q, K, V projections, attention per head, output projection); FLOPs 4·2·L·d² + 4·L²·d.',
  );
  out.push('SDPA: 8 heads × head dim 64, batch 1; FLOPs 4·L²·512. MHA fwd+bwd: one training step, FLOPs counted as 3 × forward.');
  out.push(
    "build: what each child's runtime reported it ran — wasm relaxed SIMD (fused multiply-add) or SIMD-128, js, native — × the threads that started.",
  );
  out.push(`median ms: median of "runs" timed runs after ${meta.config.warmup} warm-up run(s); GFLOP/s = FLOPs / median.`);
  out.push(
    'cpu/wall: CPU time of the child ÷ wall time over the timed runs, ≈ cores kept busy (< 2 for a 2-thread row: the other core was taken).',
  );
  out.push("peak RSS MB: the child process's peak resident set during that row (VmHWM, reset per length), +Δ over its RSS after setup.");
  out.push(
    `max |Δ| vs heed: largest absolute difference from heed's output (rel = over max |heed|); fails beyond ${meta.tolerance} relative.`,
  );
  out.push("heed speed-up: the peer's median ÷ the fastest heed row's median at the same task and L (> 1: heed is faster).");
  if (results.some((r) => r.task === 'memory')) {
    out.push(
      'MHA causal, memory: one causal forward per child process; peers add a [L, L] mask and build [8, L, L] scores (8 GiB each at L = 16384).',
    );
  }
  out.push(
    `Numbers come from a machine shared with other work (load average above): expect ±20 % noise between runs, far more when the load passes the ${meta.cpu.split(' ')[0]} cores (cpu/wall well under 1).`,
  );
  out.push('');
  out.push(formatTargets(checkTargets(results)));
  return out.join('\n');
}

// --- SVG --------------------------------------------------------------------------------------------

const PALETTE = {
  'heed-js': '#1b7837',
  'heed-wasm1': '#5aae61',
  'heed-wasm2': '#00441b',
  'tfjs-cpu': '#d6604d',
  'tfjs-wasm': '#f4a582',
  'tfjs-wasm-head': '#b2182b',
  'ort-1': '#4393c3',
  'ort-2': '#053061',
  'ortweb-1': '#92c5de',
  'ortweb-2': '#2166ac',
};
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** GFLOP/s against L, one panel per task, log-scale L (and GFLOP/s), one line per implementation. */
export function gflopsSvg(results, meta) {
  const panels = ['mha', 'sdpa'].filter((t) => results.some((r) => r.task === t && r.gflops));
  const W = 460;
  const H = 340;
  const m = { left: 64, right: 16, top: 40, bottom: 52 };
  const legendW = 360;
  const width = panels.length * W + legendW;
  const height = H + 30;
  const plotted = results.filter((r) => panels.includes(r.task) && r.gflops);
  const Ls = [...new Set(plotted.map((r) => r.L))].sort((a, b) => a - b);
  const gs = plotted.map((r) => r.gflops);
  const yMin = 10 ** Math.floor(Math.log10(Math.min(...gs)));
  const yMax = 10 ** Math.ceil(Math.log10(Math.max(...gs)));
  const xMin = Math.log2(Ls[0]);
  const xMax = Math.max(Math.log2(Ls.at(-1)), xMin + 1);
  const ids = [...new Set(plotted.map((r) => r.impl))];
  const parts = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
  );
  parts.push(`<rect width="100%" height="100%" fill="white"/>`);
  parts.push(
    `<text x="${width / 2}" y="18" text-anchor="middle" font-size="14" font-weight="bold">heed bench: GFLOP/s against sequence length (${esc(meta.mode)} mode, ${esc(meta.date.slice(0, 10))}, node ${esc(meta.node)})</text>`,
  );
  panels.forEach((task, p) => {
    const ox = p * W;
    const x0 = ox + m.left;
    const x1 = ox + W - m.right;
    const y0 = 30 + H - m.bottom;
    const y1 = 30 + m.top;
    const sx = (L) => x0 + ((Math.log2(L) - xMin) / (xMax - xMin)) * (x1 - x0);
    const sy = (g) => y0 - ((Math.log10(g) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) * (y0 - y1);
    parts.push(
      `<text x="${(x0 + x1) / 2}" y="${y1 - 12}" text-anchor="middle" font-weight="bold">${esc(TASKS[task])}${task === 'mha' ? ' (d 512, 8 heads)' : ' (8 heads × 64)'}</text>`,
    );
    // y grid: 1, 2, 5 per decade
    for (let dec = yMin; dec < yMax * 1.001; dec *= 10) {
      for (const f of [1, 2, 5]) {
        const g = dec * f;
        if (g > yMax * 1.001) continue;
        const y = sy(g).toFixed(1);
        parts.push(`<line x1="${x0}" x2="${x1}" y1="${y}" y2="${y}" stroke="${f === 1 ? '#ccc' : '#eee'}"/>`);
        parts.push(`<text x="${x0 - 6}" y="${y}" dy="4" text-anchor="end" fill="#444">${g >= 1 ? g : g.toPrecision(1)}</text>`);
      }
    }
    for (const L of Ls) {
      const x = sx(L).toFixed(1);
      parts.push(`<line x1="${x}" x2="${x}" y1="${y0}" y2="${y1}" stroke="#eee"/>`);
      parts.push(`<text x="${x}" y="${y0 + 16}" text-anchor="middle" fill="#444">${L}</text>`);
    }
    parts.push(`<rect x="${x0}" y="${y1}" width="${x1 - x0}" height="${y0 - y1}" fill="none" stroke="#888"/>`);
    parts.push(`<text x="${(x0 + x1) / 2}" y="${y0 + 36}" text-anchor="middle">sequence length L (log scale)</text>`);
    parts.push(`<text transform="translate(${ox + 16} ${(y0 + y1) / 2}) rotate(-90)" text-anchor="middle">GFLOP/s (log scale)</text>`);
    for (const id of ids) {
      const pts = plotted.filter((r) => r.task === task && r.impl === id).sort((a, b) => a.L - b.L);
      if (pts.length === 0) continue;
      const color = PALETTE[id] ?? '#000';
      const dash = id.startsWith('heed') ? '' : ' stroke-dasharray="6 3"';
      const d = pts.map((r, i) => `${i ? 'L' : 'M'}${sx(r.L).toFixed(1)},${sy(r.gflops).toFixed(1)}`).join(' ');
      parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"${dash}/>`);
      for (const r of pts)
        parts.push(
          `<circle cx="${sx(r.L).toFixed(1)}" cy="${sy(r.gflops).toFixed(1)}" r="3" fill="${color}"><title>${esc(r.label)} L=${r.L}: ${r.gflops.toFixed(2)} GFLOP/s</title></circle>`,
        );
    }
  });
  const lx = panels.length * W + 10;
  parts.push(`<text x="${lx}" y="${30 + m.top}" font-weight="bold">implementation</text>`);
  ids.forEach((id, i) => {
    const y = 30 + m.top + 20 + i * 20;
    const first = plotted.find((r) => r.impl === id);
    const label = first.buildLabel ? `${first.label}, ${first.buildLabel}` : first.label;
    const dash = id.startsWith('heed') ? '' : ' stroke-dasharray="6 3"';
    parts.push(`<line x1="${lx}" x2="${lx + 26}" y1="${y - 4}" y2="${y - 4}" stroke="${PALETTE[id] ?? '#000'}" stroke-width="2"${dash}/>`);
    parts.push(`<text x="${lx + 32}" y="${y}">${esc(label)}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
