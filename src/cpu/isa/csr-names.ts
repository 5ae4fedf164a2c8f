/**
 * Names of the standard CSRs, for the disassembler: Privileged ISA 20211203 (v1.12) tables 2.2–2.6
 * (unprivileged, supervisor, hypervisor, machine and debug CSRs) plus Sstc's stimecmp/vstimecmp (Sstc
 * v1.0, §2/§3), then a few other ratified extensions' CSRs (end of the list). RV32-only "h" halves are listed too: naming them is harmless on RV64 and helps whoever
 * reads a trace of a guest that probes them.
 */

function build(): Map<number, string> {
  const names = new Map<number, string>();
  const put = (num: number, name: string): void => {
    names.set(num, name);
  };
  const range = (base: number, first: number, last: number, prefix: string): void => {
    for (let i = first; i <= last; i++) put(base + i - first, `${prefix}${i}`);
  };

  // Unprivileged floating-point and counter/timer CSRs (table 2.2).
  put(0x001, 'fflags');
  put(0x002, 'frm');
  put(0x003, 'fcsr');
  put(0xc00, 'cycle');
  put(0xc01, 'time');
  put(0xc02, 'instret');
  range(0xc03, 3, 31, 'hpmcounter');
  put(0xc80, 'cycleh');
  put(0xc81, 'timeh');
  put(0xc82, 'instreth');
  for (let i = 3; i <= 31; i++) put(0xc80 + i, `hpmcounter${i}h`);

  // Supervisor (table 2.3).
  put(0x100, 'sstatus');
  put(0x104, 'sie');
  put(0x105, 'stvec');
  put(0x106, 'scounteren');
  put(0x10a, 'senvcfg');
  put(0x140, 'sscratch');
  put(0x141, 'sepc');
  put(0x142, 'scause');
  put(0x143, 'stval');
  put(0x144, 'sip');
  put(0x14d, 'stimecmp'); // Sstc
  put(0x15d, 'stimecmph'); // Sstc, RV32
  put(0x180, 'satp');
  put(0x5a8, 'scontext');

  // Hypervisor and virtual supervisor (table 2.4).
  put(0x600, 'hstatus');
  put(0x602, 'hedeleg');
  put(0x603, 'hideleg');
  put(0x604, 'hie');
  put(0x605, 'htimedelta');
  put(0x606, 'hcounteren');
  put(0x607, 'hgeie');
  put(0x60a, 'henvcfg');
  put(0x615, 'htimedeltah');
  put(0x61a, 'henvcfgh');
  put(0x643, 'htval');
  put(0x644, 'hip');
  put(0x645, 'hvip');
  put(0x64a, 'htinst');
  put(0x680, 'hgatp');
  put(0x6a8, 'hcontext');
  put(0xe12, 'hgeip');
  put(0x200, 'vsstatus');
  put(0x204, 'vsie');
  put(0x205, 'vstvec');
  put(0x240, 'vsscratch');
  put(0x241, 'vsepc');
  put(0x242, 'vscause');
  put(0x243, 'vstval');
  put(0x244, 'vsip');
  put(0x24d, 'vstimecmp'); // Sstc
  put(0x25d, 'vstimecmph'); // Sstc, RV32
  put(0x280, 'vsatp');

  // Machine (tables 2.5 and 2.6).
  put(0xf11, 'mvendorid');
  put(0xf12, 'marchid');
  put(0xf13, 'mimpid');
  put(0xf14, 'mhartid');
  put(0xf15, 'mconfigptr');
  put(0x300, 'mstatus');
  put(0x301, 'misa');
  put(0x302, 'medeleg');
  put(0x303, 'mideleg');
  put(0x304, 'mie');
  put(0x305, 'mtvec');
  put(0x306, 'mcounteren');
  put(0x310, 'mstatush');
  put(0x340, 'mscratch');
  put(0x341, 'mepc');
  put(0x342, 'mcause');
  put(0x343, 'mtval');
  put(0x344, 'mip');
  put(0x34a, 'mtinst');
  put(0x34b, 'mtval2');
  put(0x30a, 'menvcfg');
  put(0x31a, 'menvcfgh');
  put(0x747, 'mseccfg');
  put(0x757, 'mseccfgh');
  range(0x3a0, 0, 15, 'pmpcfg');
  range(0x3b0, 0, 63, 'pmpaddr');
  put(0xb00, 'mcycle');
  put(0xb02, 'minstret');
  range(0xb03, 3, 31, 'mhpmcounter');
  put(0xb80, 'mcycleh');
  put(0xb82, 'minstreth');
  for (let i = 3; i <= 31; i++) put(0xb80 + i, `mhpmcounter${i}h`);
  put(0x320, 'mcountinhibit');
  range(0x323, 3, 31, 'mhpmevent');

  // Debug/trace (table 2.6).
  put(0x7a0, 'tselect');
  put(0x7a1, 'tdata1');
  put(0x7a2, 'tdata2');
  put(0x7a3, 'tdata3');
  put(0x7a8, 'mcontext');
  put(0x7b0, 'dcsr');
  put(0x7b1, 'dpc');
  put(0x7b2, 'dscratch0');
  put(0x7b3, 'dscratch1');

  // CSRs of other ratified extensions, named so a trace of a guest probing them reads well (and as
  // binutils 2.40 names them). Vector 1.0 §3:
  put(0x008, 'vstart');
  put(0x009, 'vxsat');
  put(0x00a, 'vxrm');
  put(0x00f, 'vcsr');
  put(0xc20, 'vl');
  put(0xc21, 'vtype');
  put(0xc22, 'vlenb');
  put(0x015, 'seed'); // Zkr (scalar crypto v1.0 §4.1)
  // Smstateen/Ssstateen v1.0.
  for (let i = 0; i < 4; i++) {
    put(0x10c + i, `sstateen${i}`);
    put(0x30c + i, `mstateen${i}`);
    put(0x31c + i, `mstateen${i}h`);
    put(0x60c + i, `hstateen${i}`);
    put(0x61c + i, `hstateen${i}h`);
  }
  // Sscofpmf v1.0.
  put(0xda0, 'scountovf');
  for (let i = 3; i <= 31; i++) put(0x720 + i, `mhpmevent${i}h`);
  // Sdtrig (debug spec 1.0 §5).
  put(0x7a4, 'tinfo');
  put(0x7a5, 'tcontrol');
  put(0x7aa, 'mscontext');
  // Advanced Interrupt Architecture (Smaia/Ssaia v1.0, chapter 2).
  const aia: ReadonlyArray<readonly [number, string]> = [
    [0x114, 'sieh'], [0x150, 'siselect'], [0x151, 'sireg'], [0x154, 'siph'], [0x15c, 'stopei'],
    [0x214, 'vsieh'], [0x250, 'vsiselect'], [0x251, 'vsireg'], [0x254, 'vsiph'], [0x25c, 'vstopei'],
    [0x308, 'mvien'], [0x309, 'mvip'], [0x313, 'midelegh'], [0x314, 'mieh'], [0x318, 'mvienh'],
    [0x319, 'mviph'], [0x350, 'miselect'], [0x351, 'mireg'], [0x354, 'miph'], [0x35c, 'mtopei'],
    [0x608, 'hvien'], [0x609, 'hvictl'], [0x613, 'hidelegh'], [0x618, 'hvienh'], [0x646, 'hviprio1'],
    [0x647, 'hviprio2'], [0x655, 'hviph'], [0x656, 'hviprio1h'], [0x657, 'hviprio2h'],
    [0xdb0, 'stopi'], [0xeb0, 'vstopi'], [0xfb0, 'mtopi'],
  ];
  for (const [num, name] of aia) put(num, name);
  return names;
}

const CSR_NAMES: ReadonlyMap<number, string> = build();

/** The standard name of CSR `num` (0..0xfff), or undefined for a number the spec does not name. */
export function csrName(num: number): string | undefined {
  return CSR_NAMES.get(num);
}
