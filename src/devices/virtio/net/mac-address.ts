/**
 * Ethernet MAC addresses as Firecracker's guest_mac writes them: six two-digit hex bytes separated by
 * colons ("06:00:ac:10:00:02").
 */

export class MacAddressError extends Error {
  readonly code = 'malformed-mac' as const;
  constructor(message: string) {
    super(message);
    this.name = 'MacAddressError';
  }
}

/** Parses "aa:bb:cc:dd:ee:ff" (either case); throws MacAddressError naming the value otherwise. */
export function parseMac(text: string): Uint8Array {
  if (!/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(text)) {
    throw new MacAddressError(`"${text}" is not a MAC address: expected six hex bytes separated by colons, e.g. 06:00:ac:10:00:02`);
  }
  const mac = Uint8Array.from(text.split(':').map((b) => parseInt(b, 16)));
  if (mac[0]! & 1) throw new MacAddressError(`"${text}" is a multicast address (the low bit of the first byte is set); a guest interface needs a unicast MAC`);
  return mac;
}

export function formatMac(mac: Uint8Array): string {
  return Array.from(mac, (b) => b.toString(16).padStart(2, '0')).join(':');
}

/** A random locally administered unicast address (first byte x2, x6, xA or xE), as QEMU/libvirt make. */
export function randomMac(random: (bytes: Uint8Array) => Uint8Array = (b) => crypto.getRandomValues(b)): Uint8Array {
  const mac = random(new Uint8Array(6));
  mac[0] = (mac[0]! & 0xfc) | 0x02;
  return mac;
}
