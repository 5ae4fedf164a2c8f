/**
 * Test support: an FpState over a fresh WebAssembly.Memory laid out like a hart region
 * (cpu/hart-layout.ts), with helpers to set and read registers as bit patterns and to encode
 * OP-FP / R4 instructions.
 */
import { F_OFFSET, X_OFFSET } from '../hart-layout.js';
import type { FpState } from './fp-state.js';

export class TestFpState implements FpState {
  readonly i32: Int32Array;
  readonly f64: Float64Array;
  readonly xi = X_OFFSET / 4;
  readonly fi = F_OFFSET / 4;
  readonly fi64 = F_OFFSET / 8;
  fflags = 0;
  frm = 0;

  constructor() {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 1 });
    this.i32 = new Int32Array(memory.buffer);
    this.f64 = new Float64Array(memory.buffer);
  }

  setF64(r: number, bits: bigint): void {
    this.i32[this.fi + 2 * r] = Number(bits & 0xffffffffn) | 0;
    this.i32[this.fi + 2 * r + 1] = Number((bits >> 32n) & 0xffffffffn) | 0;
  }
  getF64(r: number): bigint {
    return (BigInt(this.i32[this.fi + 2 * r + 1]! >>> 0) << 32n) | BigInt(this.i32[this.fi + 2 * r]! >>> 0);
  }
  /** A NaN-boxed single. */
  setF32(r: number, bits: number): void {
    this.setF64(r, 0xffffffff00000000n | BigInt(bits >>> 0));
  }
  setX(r: number, value: bigint): void {
    this.i32[this.xi + 2 * r] = Number(value & 0xffffffffn) | 0;
    this.i32[this.xi + 2 * r + 1] = Number((value >> 32n) & 0xffffffffn) | 0;
  }
  /** x register as an unsigned 64-bit value. */
  getX(r: number): bigint {
    return (BigInt(this.i32[this.xi + 2 * r + 1]! >>> 0) << 32n) | BigInt(this.i32[this.xi + 2 * r]! >>> 0);
  }
  /** Every register word, to check that an illegal instruction changed nothing. */
  snapshot(): string {
    return Array.from(this.i32.subarray(this.xi, this.fi + 64)).join(',') + `|${this.fflags}|${this.frm}`;
  }
}

export const OPC_OP_FP = 0x53;
export const OPC_FMADD = 0x43;
export const OPC_FMSUB = 0x47;
export const OPC_FNMSUB = 0x4b;
export const OPC_FNMADD = 0x4f;

export function encodeOpFp(funct5: number, fmt: number, rs2: number, rs1: number, rm: number, rd: number): number {
  return ((funct5 << 27) | (fmt << 25) | (rs2 << 20) | (rs1 << 15) | (rm << 12) | (rd << 7) | OPC_OP_FP) >>> 0;
}

export function encodeR4(opcode: number, rs3: number, fmt: number, rs2: number, rs1: number, rm: number, rd: number): number {
  return ((rs3 << 27) | (fmt << 25) | (rs2 << 20) | (rs1 << 15) | (rm << 12) | (rd << 7) | opcode) >>> 0;
}
