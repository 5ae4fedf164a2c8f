import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Used when the host has no Debian sources of its own (e.g. another distribution). */
export const DEFAULT_DEBIAN_MIRROR = 'http://deb.debian.org/debian';

export interface AptSource {
  uris: string[];
  suites: string[];
}

/**
 * Sources from a deb822 `.sources` file (sources.list(5) "DEB822-STYLE FORMAT"): stanzas separated by
 * blank lines, `Field: value` with continuation lines. Only `deb` stanzas that are not disabled count.
 */
export function parseDeb822Sources(text: string): AptSource[] {
  const out: AptSource[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    let last = '';
    for (const line of stanza.split('\n')) {
      if (line.startsWith('#')) continue;
      if (/^\s/.test(line) && last) {
        fields.set(last, `${fields.get(last)} ${line.trim()}`);
        continue;
      }
      const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(line);
      if (!m) continue;
      last = m[1]!.toLowerCase();
      fields.set(last, m[2]!.trim());
    }
    const types = (fields.get('types') ?? '').split(/\s+/);
    if (!types.includes('deb') || (fields.get('enabled') ?? 'yes').toLowerCase() === 'no') continue;
    const uris = (fields.get('uris') ?? '').split(/\s+/).filter(Boolean);
    const suites = (fields.get('suites') ?? '').split(/\s+/).filter(Boolean);
    if (uris.length) out.push({ uris, suites });
  }
  return out;
}

/** Sources from the one-line format: `deb [options] uri suite component...`. */
export function parseOneLineSources(text: string): AptSource[] {
  const out: AptSource[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line);
    if (m) out.push({ uris: [m[1]!], suites: [m[2]!] });
  }
  return out;
}

/**
 * The mirror of Debian's main archive among the sources: the URI serving a plain release suite (not
 * -security, -updates or -backports, which live elsewhere or carry only a few packages).
 */
export function pickDebianMirror(sources: readonly AptSource[]): string | undefined {
  for (const s of sources) {
    if (!s.suites.some((x) => /^[a-z]+$/.test(x))) continue;
    const uri = s.uris.find((u) => /^https?:\/\//.test(u) && !/security/.test(u));
    if (uri) return uri.replace(/\/+$/, '');
  }
  return undefined;
}

/** The mirror the host's own apt uses (read-only look at /etc/apt), else deb.debian.org. */
export function hostDebianMirror(etcApt = '/etc/apt'): string {
  const sources: AptSource[] = [];
  const tryRead = (p: string): string | undefined => {
    try {
      return readFileSync(p, 'utf8');
    } catch {
      return undefined;
    }
  };
  const list = tryRead(join(etcApt, 'sources.list'));
  if (list !== undefined) sources.push(...parseOneLineSources(list));
  let parts: string[] = [];
  try {
    parts = readdirSync(join(etcApt, 'sources.list.d')).sort();
  } catch {
    // No sources.list.d: fine, the default mirror follows.
  }
  for (const name of parts) {
    const text = tryRead(join(etcApt, 'sources.list.d', name));
    if (text === undefined) continue;
    if (name.endsWith('.sources')) sources.push(...parseDeb822Sources(text));
    else if (name.endsWith('.list')) sources.push(...parseOneLineSources(text));
  }
  return pickDebianMirror(sources) ?? DEFAULT_DEBIAN_MIRROR;
}
