/**
 * A reader for the subset of YAML that Firecracker's swagger file uses: block mappings and sequences
 * (a sequence may sit at its key's indentation), "- key: value" items, plain / quoted / multi-line
 * plain scalars, folded block scalars (`>`, `>-`, `|`), flow sequences (`[a, "b"]`) and full-line
 * comments. Anything else is refused with the line number, so a spec update that leaves the subset
 * fails loudly instead of being misread.
 */

interface Line {
  n: number;
  indent: number;
  text: string;
}

export class YamlSubsetError extends Error {}

export function parseYamlSubset(src: string): unknown {
  const lines: Line[] = [];
  src.split('\n').forEach((raw, i) => {
    const t = raw.replace(/\r$/, '');
    const trimmed = t.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    if (/^\t/.test(t)) throw new YamlSubsetError(`line ${i + 1}: tabs are not allowed for indentation`);
    lines.push({ n: i + 1, indent: t.length - t.trimStart().length, text: trimmed });
  });
  const p = new Reader(lines);
  const v = p.node(0, 0);
  if (p.i < lines.length) throw new YamlSubsetError(`line ${lines[p.i]!.n}: unexpected content`);
  return v;
}

const KEY = /^("(?:[^"\\]|\\.)*"|'[^']*'|[^\s"'#\-[{][^:]*?|-[^\s][^:]*?)\s*:(?:\s+(.*))?$/;

class Reader {
  i = 0;
  constructor(private readonly lines: Line[]) {}

  node(i: number, indent: number): unknown {
    this.i = i;
    const l = this.lines[i];
    if (!l) return null;
    if (l.indent < indent) return null;
    return isSeqItem(l.text) ? this.sequence(l.indent) : this.mapping(l.indent);
  }

  private mapping(indent: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    while (this.i < this.lines.length) {
      const l = this.lines[this.i]!;
      if (l.indent < indent) break;
      if (l.indent > indent) throw new YamlSubsetError(`line ${l.n}: unexpected indentation`);
      if (isSeqItem(l.text)) break;
      const m = KEY.exec(l.text);
      if (!m) throw new YamlSubsetError(`line ${l.n}: expected "key: value", got ${JSON.stringify(l.text)}`);
      const key = unquote(m[1]!);
      const rest = m[2] ?? '';
      this.i++;
      if (rest === '') {
        const next = this.lines[this.i];
        if (next && next.indent > indent && !isSeqItem(next.text) && !KEY.test(next.text)) {
          // A plain scalar that starts on the next line.
          const parts: string[] = [];
          while (this.i < this.lines.length && this.lines[this.i]!.indent > indent) parts.push(this.lines[this.i++]!.text);
          out[key] = scalar(parts.join(' '), next.n);
        } else if (next && next.indent > indent) out[key] = this.node(this.i, next.indent);
        else if (next && next.indent === indent && isSeqItem(next.text)) out[key] = this.sequence(indent);
        else out[key] = null;
      } else if (/^[>|]-?$/.test(rest)) {
        const parts: string[] = [];
        while (this.i < this.lines.length && this.lines[this.i]!.indent > indent) parts.push(this.lines[this.i++]!.text);
        out[key] = parts.join(rest.startsWith('|') ? '\n' : ' ');
      } else {
        // A plain scalar may continue on more-indented lines (folded with single spaces).
        let text = rest;
        if (!/^["'[]/.test(rest)) {
          while (this.i < this.lines.length && this.lines[this.i]!.indent > indent) text += ' ' + this.lines[this.i++]!.text;
        } else if (rest.startsWith('"') && !/"\s*$/.test(rest)) {
          while (this.i < this.lines.length && this.lines[this.i]!.indent > indent && !/"\s*$/.test(text)) text += ' ' + this.lines[this.i++]!.text;
        }
        out[key] = scalar(text, l.n);
      }
    }
    return out;
  }

  private sequence(indent: number): unknown[] {
    const out: unknown[] = [];
    while (this.i < this.lines.length) {
      const l = this.lines[this.i]!;
      if (l.indent !== indent || !isSeqItem(l.text)) break;
      const item = l.text.slice(1).trimStart();
      if (item === '') {
        this.i++;
        const next = this.lines[this.i];
        out.push(next && next.indent > indent ? this.node(this.i, next.indent) : null);
      } else if (KEY.test(item) && !/^["'[]/.test(item)) {
        // "- key: value" opens a mapping whose keys sit at the column of "key".
        const col = indent + (l.text.length - item.length);
        this.lines[this.i] = { n: l.n, indent: col, text: item };
        out.push(this.mapping(col));
      } else {
        this.i++;
        out.push(scalar(item, l.n));
      }
    }
    return out;
  }
}

function isSeqItem(text: string): boolean {
  return text === '-' || text.startsWith('- ');
}

function unquote(s: string): string {
  if (s.startsWith('"')) return JSON.parse(s) as string;
  if (s.startsWith("'")) return s.slice(1, -1).replace(/''/g, "'");
  return s.trim();
}

function scalar(text: string, line: number): unknown {
  const t = text.trim();
  if (t.startsWith('"')) {
    try {
      return JSON.parse(t);
    } catch {
      throw new YamlSubsetError(`line ${line}: bad double-quoted string`);
    }
  }
  if (t.startsWith("'")) return unquote(t);
  if (t.startsWith('[')) {
    if (!t.endsWith(']')) throw new YamlSubsetError(`line ${line}: unterminated flow sequence`);
    const inner = t.slice(1, -1).trim();
    return inner === '' ? [] : inner.split(',').map((x) => scalar(x, line));
  }
  if (t.startsWith('{')) throw new YamlSubsetError(`line ${line}: flow mappings are outside the subset`);
  if (t === 'true') return true;
  if (t === 'false') return false;
  if (t === 'null' || t === '~') return null;
  if (/^-?\d+$/.test(t)) return Number(t);
  if (/^-?\d+\.\d+$/.test(t)) return Number(t);
  return t;
}
