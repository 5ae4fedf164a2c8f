/**
 * A hart's architectural state as plain, versioned data (a snapshot's part for one vCPU). 64-bit
 * values are hex strings ("0x…", exact and readable in `wisp snapshot info`); restore() checks every
 * field, so a state file that parses but lies gets a clear error instead of a half-restored hart.
 * TLBs and JIT translations are caches and are not part of it: a restored hart starts with them empty.
 */

export interface CsrState {
  mstatus: number;
  mie: number;
  /** Software-writable mip bits; the lines driven from outside (CLINT, PLIC) are re-driven by them. */
  mipSoft: number;
  medeleg: number;
  mideleg: number;
  mcounteren: number;
  scounteren: number;
  senvcfg: number;
  menvcfg: string;
  mtvec: string;
  stvec: string;
  mepc: string;
  sepc: string;
  mcause: string;
  scause: string;
  mtval: string;
  stval: string;
  mscratch: string;
  sscratch: string;
  satp: string;
  stimecmp: string;
  /** pmpcfg0, pmpcfg2 (RV64: even numbers only). */
  pmpcfg: string[];
  /** pmpaddr0..15. */
  pmpaddr: string[];
}

export interface HartState {
  version: 1;
  id: number;
  pc: string;
  /** x0..x31 (x0 is always 0x0). */
  x: string[];
  /** f0..f31, raw IEEE bits (singles NaN-boxed). */
  f: string[];
  fflags: number;
  frm: number;
  priv: number;
  /** Instructions retired (minstret/mcycle; exact below 2^53). */
  instret: number;
  /** The hart is in WFI. */
  waiting: boolean;
  /** The LR reservation: the reserved virtual address, or null. */
  reservation: string | null;
  csr: CsrState;
}
