import { renderTrendChart, trendChartSvg, niceScale, alignedScale, shortDate } from '../src/render/slack/chart';
import { makeReport } from './fixtures/report';

function pngSize(png: Buffer): { w: number; h: number } {
  expect(png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);
  return { w: png.readUInt32BE(16), h: png.readUInt32BE(20) };
}

describe('trend chart', () => {
  test('renders a PNG at 2x of 960x480 with the DejaVu font (or without)', () => {
    const r = makeReport();
    const png = renderTrendChart(r.volumeTrend, { title: 'Trend' });
    expect(pngSize(png)).toEqual({ w: 1920, h: 960 });
    const bare = renderTrendChart(r.volumeTrend, { fontFiles: ['/nonexistent/font.ttf'], systemFontsFallback: false, scale: 1 });
    expect(pngSize(bare)).toEqual({ w: 960, h: 480 });
  });

  test('SVG has one bar pair per day, the backlog line, date labels and escaped text', () => {
    const r = makeReport();
    const svg = trendChartSvg(r.volumeTrend, { title: 'A <b> & "c"' });
    expect(svg).toContain('A &lt;b&gt; &amp; &quot;c&quot;');
    expect(svg.match(/<rect [^>]*fill="#3b82f6"/g)).toHaveLength(30 + 1); // bars + legend swatch
    expect(svg.match(/<polyline/g)).toHaveLength(1);
    expect(svg).toContain('>Nov 23<');
    expect(svg).toContain('>174<'); // last backlog value labelled
  });

  test('empty and tiny inputs still render', () => {
    expect(pngSize(renderTrendChart([], { scale: 1 }))).toEqual({ w: 960, h: 480 });
    const zero = [{ date: '2026-01-01', created: 0, resolved: 0, net_change: 0, backlog_end_of_day: 0 }];
    expect(pngSize(renderTrendChart(zero, { scale: 1 })).w).toBe(960);
    expect(trendChartSvg([])).toContain('No data');
  });

  test('axis helpers', () => {
    expect(niceScale(52)).toEqual({ max: 60, step: 20 });
    expect(niceScale(0)).toEqual({ max: 5, step: 1 });
    expect(alignedScale(181, 3)).toEqual({ max: 300, step: 100 });
    expect(alignedScale(7, 4).max).toBeGreaterThanOrEqual(7);
    expect(shortDate('2026-11-03')).toBe('Nov 3');
  });
});
