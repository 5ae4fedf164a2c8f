import { CliError } from './cli-error.js';

/**
 * The network flags' values, parsed once for `wisp run` (a guest) and `wisp run IMAGE` (a container):
 * `--net user|tap:NAME` and `--publish HOSTPORT:GUESTPORT[/tcp|/udp]`.
 */

export type NetFlag = { kind: 'user' } | { kind: 'tap'; name: string };

export function parseNet(spec: string): NetFlag {
  if (spec === 'user') return { kind: 'user' };
  if (spec.startsWith('tap:') && spec.length > 4) return { kind: 'tap', name: spec.slice(4) };
  throw new CliError(`--net must be "user" or "tap:NAME", got "${spec}"`);
}

export interface PublishFlag {
  host_port: number;
  guest_port: number;
  protocol: 'tcp' | 'udp';
}

/** `flag` names the option as the user typed it, for the message. */
export function parsePublish(spec: string, flag = '--publish'): PublishFlag {
  const m = /^(\d{1,5}):(\d{1,5})(?:\/(tcp|udp))?$/.exec(spec);
  const port = (s: string | undefined) => (s !== undefined && Number(s) >= 1 && Number(s) <= 65535 ? Number(s) : undefined);
  const host = port(m?.[1]), guest = port(m?.[2]);
  if (!m || host === undefined || guest === undefined) {
    throw new CliError(`${flag} must be HOSTPORT:GUESTPORT with ports 1 to 65535, optionally /udp (e.g. 8080:80), got "${spec}"`);
  }
  return { host_port: host, guest_port: guest, protocol: (m[3] as 'tcp' | 'udp' | undefined) ?? 'tcp' };
}
