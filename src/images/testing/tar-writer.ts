/**
 * A small POSIX tar (ustar + pax) writer for tests and test images: entries with exactly the owners,
 * modes, types and names a test wants (whiteouts, device nodes, hard links, names past 100 bytes),
 * which a tar of a real directory cannot give without root.
 */
export interface TarEntry {
  path: string;
  type?: 'file' | 'dir' | 'symlink' | 'link' | 'char' | 'block' | 'fifo';
  content?: Uint8Array | string;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  linkname?: string;
  major?: number;
  minor?: number;
}

const TYPEFLAG = { file: '0', link: '1', symlink: '2', char: '3', block: '4', dir: '5', fifo: '6' } as const;

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, '0') + '\0';
}

function header(name: string, e: TarEntry, size: number, typeflag: string, linkname: string): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write(octal(e.mode ?? (e.type === 'dir' ? 0o755 : 0o644), 8), 100, 'ascii');
  h.write(octal(e.uid ?? 0, 8), 108, 'ascii');
  h.write(octal(e.gid ?? 0, 8), 116, 'ascii');
  h.write(octal(size, 12), 124, 'ascii');
  h.write(octal(e.mtime ?? 1_700_000_000, 12), 136, 'ascii');
  h.write('        ', 148, 'ascii');
  h.write(typeflag, 156, 'ascii');
  h.write(linkname, 157, 100, 'utf8');
  h.write('ustar\u000000', 257, 'binary');
  h.write(octal(e.major ?? 0, 8), 329, 'ascii');
  h.write(octal(e.minor ?? 0, 8), 337, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(octal(sum, 7) + ' ', 148, 'ascii');
  return h;
}

function pad(n: number): Buffer {
  return Buffer.alloc((512 - (n % 512)) % 512);
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return `${len}${body}`;
}

export function tarBytes(entries: readonly TarEntry[]): Buffer {
  const out: Buffer[] = [];
  for (const e of entries) {
    const type = e.type ?? 'file';
    const content = type === 'file' ? Buffer.from(e.content ?? '') : Buffer.alloc(0);
    const name = type === 'dir' && !e.path.endsWith('/') ? `${e.path}/` : e.path;
    const linkname = e.linkname ?? '';
    if (Buffer.byteLength(name) > 100 || Buffer.byteLength(linkname) > 100) {
      let pax = '';
      if (Buffer.byteLength(name) > 100) pax += paxRecord('path', name);
      if (Buffer.byteLength(linkname) > 100) pax += paxRecord('linkpath', linkname);
      const body = Buffer.from(pax);
      out.push(header('PaxHeader', { path: 'PaxHeader' }, body.length, 'x', ''), body, pad(body.length));
    }
    out.push(header(name.slice(0, 100), e, content.length, TYPEFLAG[type], linkname.slice(0, 100)), content, pad(content.length));
  }
  out.push(Buffer.alloc(1024));
  return Buffer.concat(out);
}
