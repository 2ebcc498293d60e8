/**
 * DOT to SVG, offline: Graphviz compiled to WebAssembly (@viz-js/viz). The instance is created
 * once per process (compiling the module is the slow part) and reused.
 */
import { instance, type Viz } from '@viz-js/viz';

let viz: Promise<Viz> | null = null;

export async function renderSvg(dot: string): Promise<string> {
  viz ??= instance();
  return (await viz).renderString(dot, { format: 'svg' });
}

/**
 * The bare <svg> element, without the XML prolog and doctype, for inlining into HTML. Its size
 * is given in px instead of pt (1pt drawn as 1px), so that every chart on a page has one scale.
 */
export function inlineSvg(svg: string): string {
  const start = svg.indexOf('<svg');
  const bare = start >= 0 ? svg.slice(start).trim() : svg.trim();
  return bare.replace(/^<svg width="([\d.]+)pt" height="([\d.]+)pt"/, '<svg width="$1px" height="$2px"');
}
