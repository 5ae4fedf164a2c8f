import { randomInt } from 'node:crypto';
import {
  arpTargetAddress,
  ETH_HDR,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  ethertype,
  ipv4DestinationAddress,
  macFromString,
  parseArpRequest,
  parseIpv4,
  PROTOCOL_TCP,
  writeArpReply,
  writeTcpFrame,
  type Mac,
} from './frames.js';
import { responseBytes } from './http-message.js';
import { mmdsRespond, type MmdsService } from './mmds-http.js';
import { TcpHandler } from './tcp-handler.js';

/** The MMDS's own link address (Firecracker's) and its defaults. */
export const MMDS_MAC = '06:01:23:45:67:01';
export const DEFAULT_MMDS_IPV4 = ((169 << 24) | (254 << 16) | (169 << 8) | 254) >>> 0;
export const MMDS_TCP_PORT = 80;

/** RFC 3927 link-local, minus the first and last /24 it reserves (Firecracker's is_link_local_valid). */
export function isLinkLocalValid(ip: number): boolean {
  const a = ip >>> 24;
  const b = (ip >>> 16) & 0xff;
  const c = (ip >>> 8) & 0xff;
  return a === 169 && b === 254 && c !== 0 && c !== 255;
}

/**
 * The MMDS as seen from one network interface (Firecracker's MmdsNetworkStack): a leaf that sees
 * Ethernet frames, not devices. The vmm puts it between a net device and its backend: every frame
 * the guest sends is offered to isMmdsFrame(); those it claims go to detour() and never reach the
 * backend; frames it has for the guest come from nextFrame(). It answers ARP for its address and
 * TCP on port 80 with the HTTP service; everything else for its address is dropped and counted.
 *
 * Bounded: one pending ARP reply, MAX_CONNECTIONS connections of at most RCV_BUF_MAX request bytes,
 * MAX_PENDING_RSTS resets; responses are bounded by the data store's limit.
 */
export class MmdsNetworkStack {
  readonly mac: Mac = macFromString(MMDS_MAC);
  private remoteMac: Mac = macFromString(MMDS_MAC);
  private arpReplyTo: number | null = null;
  private readonly tcp: TcpHandler;

  constructor(
    private readonly svc: MmdsService,
    public ipv4: number = DEFAULT_MMDS_IPV4,
    /** Milliseconds of a monotonic clock. */
    private readonly now: () => number = () => performance.now(),
    isn: () => number = () => randomInt(0, 0x1_0000_0000),
  ) {
    this.tcp = new TcpHandler(ipv4, MMDS_TCP_PORT, isn, svc.metrics);
  }

  get connectionCount(): number {
    return this.tcp.connectionCount;
  }

  /** An ARP for the MMDS address or an IPv4 packet to it (looked at, not consumed). */
  isMmdsFrame(frame: Uint8Array): boolean {
    switch (ethertype(frame)) {
      case ETHERTYPE_ARP:
        return arpTargetAddress(frame) === this.ipv4;
      case ETHERTYPE_IPV4:
        return ipv4DestinationAddress(frame) === this.ipv4;
      default:
        return false;
    }
  }

  /** Takes a frame isMmdsFrame() claimed; it is consumed whatever its content. */
  detour(frame: Uint8Array): void {
    const m = this.svc.metrics;
    m.rxAccepted++;
    if (frame.length < ETH_HDR) {
      m.rxBadEth++;
      return;
    }
    if (ethertype(frame) === ETHERTYPE_ARP) {
      const arp = parseArpRequest(frame);
      if (arp) {
        this.remoteMac = arp.sha;
        this.arpReplyTo = arp.spa;
      }
      return;
    }
    const ip = parseIpv4(frame);
    if (!ip) return;
    if (ip.protocol !== PROTOCOL_TCP) {
      m.rxAcceptedUnusual++;
      return;
    }
    this.remoteMac = frame.slice(6, 12);
    const r = this.tcp.receive(ip, this.now(), (req) => responseBytes(mmdsRespond(this.svc, req)));
    if (r.event === null) {
      m.rxAcceptedErr++;
      return;
    }
    m.rxCount++;
    if (r.unusual) m.rxAcceptedUnusual++;
  }

  /** Whether nextFrame() has something now (an ARP reply or a due segment). */
  get hasFrame(): boolean {
    return this.arpReplyTo !== null || this.tcp.hasSegment || this.tcp.nextTimeout() <= this.now();
  }

  /** Milliseconds until a retransmission may be due (Infinity: none pending). */
  nextTimeoutMs(): number {
    const t = this.tcp.nextTimeout();
    return t === Infinity ? Infinity : Math.max(0, t - this.now());
  }

  /** The next frame for the guest, or null. */
  nextFrame(): Uint8Array | null {
    const m = this.svc.metrics;
    if (this.arpReplyTo !== null) {
      const f = writeArpReply(this.mac, this.ipv4, this.remoteMac, this.arpReplyTo);
      this.arpReplyTo = null;
      m.txCount++;
      m.txFrames++;
      m.txBytes += f.length;
      return f;
    }
    const out = this.tcp.next(this.now());
    if (!out) return null;
    const f = writeTcpFrame(this.mac, this.remoteMac, this.ipv4, out.ip, out.seg);
    m.txCount++;
    m.txFrames++;
    m.txBytes += f.length;
    return f;
  }

  /** PUT /mmds/config after the stack exists (pre-boot): a new address. */
  setIpv4(ip: number): void {
    this.ipv4 = ip;
    this.tcp.localIp = ip;
  }
}
