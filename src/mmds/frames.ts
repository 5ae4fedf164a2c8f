/**
 * The few protocol data units the MMDS speaks (Ethernet II, ARP for IPv4, IPv4, TCP), read from and
 * written into plain byte arrays. Offsets follow the RFCs cited; everything is big-endian. Readers
 * check lengths before touching a field and return null for what does not parse; they never throw.
 */

/** IEEE 802.3: destination MAC, source MAC, EtherType. */
export const ETH_HDR = 14;
export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
/** RFC 826 for Ethernet/IPv4: htype, ptype, hlen, plen, oper, sha, spa, tha, tpa. */
export const ARP_LEN = 28;
export const ARP_OP_REQUEST = 1;
export const ARP_OP_REPLY = 2;
/** RFC 791: the header without options. */
export const IPV4_HDR = 20;
export const PROTOCOL_TCP = 6;
/** RFC 9293: the header without options; the data offset can say up to 60. */
export const TCP_HDR = 20;
export const TCP_MAX_HDR = 60;
export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;
export const TCP_URG = 0x20;
/** RFC 9293 §3.7.1: the MSS assumed when a SYN carries none. */
export const MSS_DEFAULT = 536;
/** Firecracker's accepted range for a peer's MSS option. */
export const MSS_MIN = 100;
export const MSS_MAX = 65535 - IPV4_HDR - TCP_HDR;

export type Mac = Uint8Array;

export function ipv4FromString(s: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  if (parts.some((p, i) => p > 255 || (m[i + 1].length > 1 && m[i + 1][0] === '0'))) return null;
  return ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0;
}

export function ipv4ToString(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}`;
}

export function macFromString(s: string): Mac {
  return Uint8Array.from(s.split(':').map((h) => parseInt(h, 16)));
}

const u16 = (b: Uint8Array, o: number): number => (b[o] << 8) | b[o + 1];
const u32 = (b: Uint8Array, o: number): number => ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
function put16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 0xff;
  b[o + 1] = v & 0xff;
}
function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}

export function ethertype(frame: Uint8Array): number {
  return frame.length >= ETH_HDR ? u16(frame, 12) : -1;
}

/** RFC 1071 one's-complement sum over `b[from, to)`, folded into `acc`. */
function sum16(b: Uint8Array, from: number, to: number, acc: number): number {
  let s = acc;
  let i = from;
  for (; i + 1 < to; i += 2) s += (b[i] << 8) | b[i + 1];
  if (i < to) s += b[i] << 8;
  return s;
}
function fold(s: number): number {
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return ~s & 0xffff;
}

export interface ArpRequest {
  sha: Mac;
  spa: number;
  tpa: number;
}

/** An ARP request for IPv4 over Ethernet in the frame's payload, or null. */
export function parseArpRequest(frame: Uint8Array): ArpRequest | null {
  if (frame.length < ETH_HDR + ARP_LEN) return null;
  const a = ETH_HDR;
  if (u16(frame, a) !== 1 || u16(frame, a + 2) !== ETHERTYPE_IPV4 || frame[a + 4] !== 6 || frame[a + 5] !== 4) return null;
  if (u16(frame, a + 6) !== ARP_OP_REQUEST) return null;
  return { sha: frame.slice(a + 8, a + 14), spa: u32(frame, a + 14), tpa: u32(frame, a + 24) };
}

/** The ARP target address of a frame that is at least long enough to hold one (a speculative look). */
export function arpTargetAddress(frame: Uint8Array): number | null {
  return frame.length >= ETH_HDR + ARP_LEN ? u32(frame, ETH_HDR + 24) : null;
}

export function writeArpReply(srcMac: Mac, srcIp: number, dstMac: Mac, dstIp: number): Uint8Array {
  const f = new Uint8Array(ETH_HDR + ARP_LEN);
  f.set(dstMac, 0);
  f.set(srcMac, 6);
  put16(f, 12, ETHERTYPE_ARP);
  const a = ETH_HDR;
  put16(f, a, 1);
  put16(f, a + 2, ETHERTYPE_IPV4);
  f[a + 4] = 6;
  f[a + 5] = 4;
  put16(f, a + 6, ARP_OP_REPLY);
  f.set(srcMac, a + 8);
  put32(f, a + 14, srcIp);
  f.set(dstMac, a + 18);
  put32(f, a + 24, dstIp);
  return f;
}

export interface Ipv4Packet {
  src: number;
  dst: number;
  protocol: number;
  /** The payload, within the frame (total length honoured; Ethernet padding after it ignored). */
  payload: Uint8Array;
}

/** The IPv4 destination of a frame long enough to hold a header (a speculative look), or null. */
export function ipv4DestinationAddress(frame: Uint8Array): number | null {
  return frame.length >= ETH_HDR + IPV4_HDR ? u32(frame, ETH_HDR + 16) : null;
}

/**
 * An IPv4 packet in the frame's payload, or null: version 4, header length ≥ 20 and within the total
 * length, which must fit the frame. The checksum is not verified (the guest may leave it to an
 * offload), as Firecracker does not.
 */
export function parseIpv4(frame: Uint8Array): Ipv4Packet | null {
  if (frame.length < ETH_HDR + IPV4_HDR) return null;
  const p = ETH_HDR;
  const vihl = frame[p];
  if (vihl >> 4 !== 4) return null;
  const ihl = (vihl & 0x0f) * 4;
  const total = u16(frame, p + 2);
  if (ihl < IPV4_HDR || total < ihl || p + total > frame.length) return null;
  return { src: u32(frame, p + 12), dst: u32(frame, p + 16), protocol: frame[p + 9], payload: frame.subarray(p + ihl, p + total) };
}

export interface TcpSegment {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  window: number;
  /** The MSS option's value; undefined without one; null if malformed or out of range. */
  mss: number | undefined | null;
  payload: Uint8Array;
}

/** A TCP segment, or null: header length 20…60 and within the segment. The checksum is not verified. */
export function parseTcp(b: Uint8Array): TcpSegment | null {
  if (b.length < TCP_HDR) return null;
  const hl = (b[12] >> 4) * 4;
  if (hl < TCP_HDR || hl > Math.min(TCP_MAX_HDR, b.length)) return null;
  return {
    srcPort: u16(b, 0),
    dstPort: u16(b, 2),
    seq: u32(b, 4),
    ack: u32(b, 8),
    flags: b[13] & 0x3f,
    window: u16(b, 14),
    mss: parseMss(b.subarray(TCP_HDR, hl)),
    payload: b.subarray(hl),
  };
}

function parseMss(opts: Uint8Array): number | undefined | null {
  let i = 0;
  while (i + 3 < opts.length) {
    const kind = opts[i];
    if (kind === 0) break;
    if (kind === 1) {
      i++;
      continue;
    }
    if (kind === 2) {
      const mss = u16(opts, i + 2);
      return mss >= MSS_MIN && mss <= MSS_MAX ? mss : null;
    }
    const len = opts[i + 1];
    if (len < 2) return null;
    i += len;
  }
  return undefined;
}

export interface TcpOut {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  window: number;
  mss?: number;
  payload?: Uint8Array;
}

/**
 * An Ethernet frame carrying an IPv4 packet carrying a TCP segment, checksums filled in. The IPv4
 * header is Firecracker's: no options, identification 0, no fragmentation flags, TTL 1 (the MMDS is
 * on the guest's link).
 */
export function writeTcpFrame(srcMac: Mac, dstMac: Mac, srcIp: number, dstIp: number, s: TcpOut): Uint8Array {
  const opt = s.mss !== undefined ? 4 : 0;
  const plen = s.payload?.length ?? 0;
  const tcpLen = TCP_HDR + opt + plen;
  const f = new Uint8Array(ETH_HDR + IPV4_HDR + tcpLen);
  f.set(dstMac, 0);
  f.set(srcMac, 6);
  put16(f, 12, ETHERTYPE_IPV4);
  const ip = ETH_HDR;
  f[ip] = 0x45;
  put16(f, ip + 2, IPV4_HDR + tcpLen);
  f[ip + 8] = 1;
  f[ip + 9] = PROTOCOL_TCP;
  put32(f, ip + 12, srcIp);
  put32(f, ip + 16, dstIp);
  put16(f, ip + 10, fold(sum16(f, ip, ip + IPV4_HDR, 0)));
  const t = ip + IPV4_HDR;
  put16(f, t, s.srcPort);
  put16(f, t + 2, s.dstPort);
  put32(f, t + 4, s.seq >>> 0);
  put32(f, t + 8, s.ack >>> 0);
  f[t + 12] = ((TCP_HDR + opt) / 4) << 4;
  f[t + 13] = s.flags;
  put16(f, t + 14, s.window);
  if (s.mss !== undefined) {
    f[t + 20] = 2;
    f[t + 21] = 4;
    put16(f, t + 22, s.mss);
  }
  if (s.payload) f.set(s.payload, t + TCP_HDR + opt);
  // RFC 9293 §3.1: the checksum covers a pseudo-header (addresses, protocol, TCP length) too.
  let acc = (srcIp >>> 16) + (srcIp & 0xffff) + (dstIp >>> 16) + (dstIp & 0xffff) + PROTOCOL_TCP + tcpLen;
  acc = sum16(f, t, t + tcpLen, acc);
  put16(f, t + 16, fold(acc));
  return f;
}

/** Verifies a TCP checksum (tests: what wisp writes must be right). */
export function tcpChecksumOk(frame: Uint8Array): boolean {
  const ip = parseIpv4(frame);
  if (!ip) return false;
  const t = ip.payload;
  let acc = (ip.src >>> 16) + (ip.src & 0xffff) + (ip.dst >>> 16) + (ip.dst & 0xffff) + PROTOCOL_TCP + t.length;
  acc = sum16(t, 0, t.length, acc);
  return fold(acc) === 0 && fold(sum16(frame, ETH_HDR, ETH_HDR + IPV4_HDR, 0)) === 0;
}
