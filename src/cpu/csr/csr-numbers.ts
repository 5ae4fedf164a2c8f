/** CSR addresses the hart implements (privileged spec v1.12, tables 2.2–2.5; Sstc for stimecmp). */
export const enum Csr {
  fflags = 0x001,
  frm = 0x002,
  fcsr = 0x003,
  cycle = 0xc00,
  time = 0xc01,
  instret = 0xc02,
  sstatus = 0x100,
  sie = 0x104,
  stvec = 0x105,
  scounteren = 0x106,
  senvcfg = 0x10a,
  sscratch = 0x140,
  sepc = 0x141,
  scause = 0x142,
  stval = 0x143,
  sip = 0x144,
  stimecmp = 0x14d,
  satp = 0x180,
  mvendorid = 0xf11,
  marchid = 0xf12,
  mimpid = 0xf13,
  mhartid = 0xf14,
  mconfigptr = 0xf15,
  mstatus = 0x300,
  misa = 0x301,
  medeleg = 0x302,
  mideleg = 0x303,
  mie = 0x304,
  mtvec = 0x305,
  mcounteren = 0x306,
  menvcfg = 0x30a,
  mcountinhibit = 0x320,
  mscratch = 0x340,
  mepc = 0x341,
  mcause = 0x342,
  mtval = 0x343,
  mip = 0x344,
  pmpcfg0 = 0x3a0,
  pmpaddr0 = 0x3b0,
  mcycle = 0xb00,
  minstret = 0xb02,
  tselect = 0x7a0,
  tdata1 = 0x7a1,
}

/** mstatus bit positions (low word) and fields. */
export const MSTATUS_SIE = 1 << 1;
export const MSTATUS_MIE = 1 << 3;
export const MSTATUS_SPIE = 1 << 5;
export const MSTATUS_MPIE = 1 << 7;
export const MSTATUS_SPP = 1 << 8;
export const MSTATUS_MPP_SHIFT = 11;
export const MSTATUS_MPP = 3 << 11;
export const MSTATUS_FS_SHIFT = 13;
export const MSTATUS_FS = 3 << 13;
export const MSTATUS_MPRV = 1 << 17;
export const MSTATUS_SUM = 1 << 18;
export const MSTATUS_MXR = 1 << 19;
export const MSTATUS_TVM = 1 << 20;
export const MSTATUS_TW = 1 << 21;
export const MSTATUS_TSR = 1 << 22;

/** Writable bits of mstatus and of its sstatus view (low word; the high word holds only UXL/SXL/SD). */
export const MSTATUS_WRITABLE =
  MSTATUS_SIE | MSTATUS_MIE | MSTATUS_SPIE | MSTATUS_MPIE | MSTATUS_SPP | MSTATUS_MPP | MSTATUS_FS |
  MSTATUS_MPRV | MSTATUS_SUM | MSTATUS_MXR | MSTATUS_TVM | MSTATUS_TW | MSTATUS_TSR;
export const SSTATUS_MASK = MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP | MSTATUS_FS | MSTATUS_SUM | MSTATUS_MXR;
/** UXL = SXL = 2 (64-bit), read-only: bits 32–35 of mstatus. */
export const MSTATUS_HI_XL = 0xa;
export const SSTATUS_HI_XL = 0x2;

/** medeleg: exceptions that can be delegated (ecall from M, cause 11, cannot; 10 and 14 are reserved). */
export const MEDELEG_WRITABLE = 0xb3ff;
/** Supervisor interrupt bits: the ones mideleg can delegate and sie/sip can show. */
export const S_INTERRUPTS = (1 << 1) | (1 << 5) | (1 << 9);
export const ALL_INTERRUPTS = 0xaaa;

/** misa: MXL = 2 (RV64) in the high word; extensions A C D F I M S U in the low word. */
export const MISA_LO =
  (1 << 0) | (1 << 2) | (1 << 3) | (1 << 5) | (1 << 8) | (1 << 12) | (1 << 18) | (1 << 20);
export const MISA_HI = 0x8000_0000 | 0;

/** menvcfg.STCE (bit 63, Sstc): enables stimecmp. */
export const MENVCFG_HI_STCE = 0x8000_0000 | 0;
