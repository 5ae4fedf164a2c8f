/**
 * The virtio-vsock packet header and its numbers (virtio 1.2 §5.10.6 "Device Operation", Linux's
 * include/uapi/linux/virtio_vsock.h). Every packet on the RX and TX queues starts with this 44-byte
 * little-endian header; a data packet (OP_RW) carries `len` bytes of payload after it.
 */

/** §5.10.6: struct virtio_vsock_hdr is le64 src_cid, le64 dst_cid, le32 src_port, le32 dst_port,
 * le32 len, le16 type, le16 op, le32 flags, le32 buf_alloc, le32 fwd_cnt. */
export const HDR_SIZE = 44;
const OFF_SRC_CID = 0;
const OFF_DST_CID = 8;
const OFF_SRC_PORT = 16;
const OFF_DST_PORT = 20;
const OFF_LEN = 24;
const OFF_TYPE = 28;
const OFF_OP = 30;
const OFF_FLAGS = 32;
const OFF_BUF_ALLOC = 36;
const OFF_FWD_CNT = 40;

/** §5.10.6: operations. */
export const OP_INVALID = 0;
export const OP_REQUEST = 1;
export const OP_RESPONSE = 2;
export const OP_RST = 3;
export const OP_SHUTDOWN = 4;
export const OP_RW = 5;
export const OP_CREDIT_UPDATE = 6;
export const OP_CREDIT_REQUEST = 7;

/** §5.10.6.4: SHUTDOWN flags: the sender will receive / send no more data. */
export const SHUTDOWN_F_RECEIVE = 1;
export const SHUTDOWN_F_SEND = 2;

/** §5.10.6: socket types; only stream sockets are supported (SEQPACKET is not offered). */
export const TYPE_STREAM = 1;
export const TYPE_SEQPACKET = 2;

/** §5.10.4: the host's well-known CID; the guest's own comes from the config space. */
export const HOST_CID = 2;
/** §5.10.4: CIDs 0, 1, 2 and 0xffffffff are reserved; a guest CID must be at least 3 and fit in 32 bits. */
export const MIN_GUEST_CID = 3;
export const MAX_GUEST_CID = 0xffff_fffe;

/** The largest payload one packet may carry (Linux's VIRTIO_VSOCK_MAX_PKT_BUF_SIZE, Firecracker's too). */
export const MAX_PKT_PAYLOAD = 64 * 1024;

/** §5.10.6.3: the event queue carries le32 id; TRANSPORT_RESET is the only event. */
export const EVENT_TRANSPORT_RESET = 0;
export const EVENT_SIZE = 4;

export interface VsockHeader {
  srcCid: number;
  dstCid: number;
  srcPort: number;
  dstPort: number;
  len: number;
  type: number;
  op: number;
  flags: number;
  bufAlloc: number;
  fwdCnt: number;
}

export function emptyHeader(): VsockHeader {
  return { srcCid: 0, dstCid: 0, srcPort: 0, dstPort: 0, len: 0, type: 0, op: 0, flags: 0, bufAlloc: 0, fwdCnt: 0 };
}

/**
 * Reads a header from 44 bytes. A CID above 2^53 cannot be a valid one (they are 32-bit in practice,
 * §5.10.4), so the high word only matters as "not zero": such a CID reads as +Infinity and never matches.
 */
export function readHeader(b: Uint8Array, into: VsockHeader = emptyHeader()): VsockHeader {
  const v = new DataView(b.buffer, b.byteOffset, HDR_SIZE);
  into.srcCid = cid(v, OFF_SRC_CID);
  into.dstCid = cid(v, OFF_DST_CID);
  into.srcPort = v.getUint32(OFF_SRC_PORT, true);
  into.dstPort = v.getUint32(OFF_DST_PORT, true);
  into.len = v.getUint32(OFF_LEN, true);
  into.type = v.getUint16(OFF_TYPE, true);
  into.op = v.getUint16(OFF_OP, true);
  into.flags = v.getUint32(OFF_FLAGS, true);
  into.bufAlloc = v.getUint32(OFF_BUF_ALLOC, true);
  into.fwdCnt = v.getUint32(OFF_FWD_CNT, true);
  return into;
}

export function writeHeader(h: VsockHeader, b: Uint8Array): void {
  const v = new DataView(b.buffer, b.byteOffset, HDR_SIZE);
  setCid(v, OFF_SRC_CID, h.srcCid);
  setCid(v, OFF_DST_CID, h.dstCid);
  v.setUint32(OFF_SRC_PORT, h.srcPort >>> 0, true);
  v.setUint32(OFF_DST_PORT, h.dstPort >>> 0, true);
  v.setUint32(OFF_LEN, h.len >>> 0, true);
  v.setUint16(OFF_TYPE, h.type, true);
  v.setUint16(OFF_OP, h.op, true);
  v.setUint32(OFF_FLAGS, h.flags >>> 0, true);
  v.setUint32(OFF_BUF_ALLOC, h.bufAlloc >>> 0, true);
  v.setUint32(OFF_FWD_CNT, h.fwdCnt >>> 0, true);
}

function cid(v: DataView, off: number): number {
  const lo = v.getUint32(off, true);
  const hi = v.getUint32(off + 4, true);
  return hi === 0 ? lo : hi < 0x20_0000 ? hi * 0x1_0000_0000 + lo : Infinity;
}

function setCid(v: DataView, off: number, c: number): void {
  v.setUint32(off, c % 0x1_0000_0000, true);
  v.setUint32(off + 4, Math.floor(c / 0x1_0000_0000), true);
}

/** Names for logs and test messages. */
export function opName(op: number): string {
  return ['INVALID', 'REQUEST', 'RESPONSE', 'RST', 'SHUTDOWN', 'RW', 'CREDIT_UPDATE', 'CREDIT_REQUEST'][op] ?? `op ${op}`;
}
