/**
 * Trap causes (privileged spec v1.12, table 3.6). Traps are data: the interpreter records cause and
 * tval on the hart and redirects pc; nothing is thrown.
 */
export const enum Exception {
  InstructionMisaligned = 0,
  InstructionAccessFault = 1,
  IllegalInstruction = 2,
  Breakpoint = 3,
  LoadMisaligned = 4,
  LoadAccessFault = 5,
  StoreMisaligned = 6,
  StoreAccessFault = 7,
  EcallFromU = 8,
  EcallFromS = 9,
  EcallFromM = 11,
  InstructionPageFault = 12,
  LoadPageFault = 13,
  StorePageFault = 15,
}

/** Interrupt numbers = bit positions in mip/mie. */
export const enum Interrupt {
  SSoftware = 1,
  MSoftware = 3,
  STimer = 5,
  MTimer = 7,
  SExternal = 9,
  MExternal = 11,
}

export const enum Priv {
  U = 0,
  S = 1,
  M = 3,
}

/** Access kinds, as the MMU and the TLBs distinguish them. */
export const enum Access {
  Read = 0,
  Write = 1,
  Fetch = 2,
}
