import assert from 'node:assert/strict';
import { test } from 'node:test';
import { filterPort, framePortPair } from '../devices/virtio/net/frame-port.js';
import { MmdsDataStore } from '../mmds/data-store.js';
import { ipv4FromString, macFromString, parseIpv4, parseTcp, TCP_ACK, TCP_SYN, writeTcpFrame } from '../mmds/frames.js';
import { fromPlain } from '../mmds/json-value.js';
import { newMmdsMetrics } from '../mmds/mmds-metrics.js';
import { DEFAULT_MMDS_IPV4, MMDS_MAC, MmdsNetworkStack } from '../mmds/mmds-stack.js';
import { RTO_MS } from '../mmds/tcp-endpoint.js';
import { TokenAuthority } from '../mmds/token-authority.js';
import { MmdsFrameFilter } from './mmds-frame-filter.js';

const GUEST_MAC = macFromString('52:54:00:00:00:01');
const GUEST_IP = ipv4FromString('10.0.2.15')!;

test('the MMDS filter keeps MMDS frames from the network, answers them, and retransmits on its own timer', async () => {
  const store = new MmdsDataStore();
  store.put(fromPlain({ k: 'v' }));
  const stack = new MmdsNetworkStack({ store, version: 'V1', tokens: new TokenAuthority(), metrics: newMmdsMetrics() }, DEFAULT_MMDS_IPV4, undefined, () => 1000);
  const [deviceSide, networkSide] = framePortPair();
  const toNetwork: Uint8Array[] = [];
  networkSide.attach({ receive: (f) => toNetwork.push(f) });
  const filter = new MmdsFrameFilter(stack);
  const port = filterPort(deviceSide, filter);
  const toGuest: Uint8Array[] = [];
  port.attach({ receive: (f) => toGuest.push(f) });
  const tcp = (flags: number, seq: number, ack: number, payload?: Uint8Array, dst = DEFAULT_MMDS_IPV4) =>
    writeTcpFrame(GUEST_MAC, macFromString(MMDS_MAC), GUEST_IP, dst, { srcPort: 5555, dstPort: 80, seq, ack, flags, window: 65535, payload });

  port.send(tcp(TCP_SYN, 1, 0));
  assert.equal(toGuest.length, 1, 'SYN-ACK');
  port.send(tcp(TCP_ACK, 2, 1001));
  port.send(tcp(TCP_ACK, 2, 1001, Buffer.from('GET /k HTTP/1.1\r\n\r\n')));
  const answer = toGuest.slice(1).map((f) => parseTcp(parseIpv4(f)!.payload)!).find((s) => s.payload.length > 0)!;
  assert.ok(Buffer.from(answer.payload).toString().endsWith('\r\n\r\nv'));
  assert.equal(toNetwork.length, 0, 'nothing for the MMDS reached the network');
  // Not acknowledged: the filter's timer resends it.
  const before = toGuest.length;
  await new Promise((r) => setTimeout(r, RTO_MS * 2 + 100));
  assert.ok(toGuest.length > before, 'retransmitted without a guest frame');
  const other = tcp(TCP_SYN, 1, 0, undefined, ipv4FromString('1.1.1.1')!);
  port.send(other);
  assert.equal(toNetwork.length, 1, 'other traffic passes');
  port.close();
});
