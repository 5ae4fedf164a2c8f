# Sv39 paging: permissions, U/S, SUM, MXR, MPRV, A/D, 2 MiB and 1 GiB pages, misaligned superpage,
# sfence.vma, non-canonical addresses, delegated page faults (the cases live in env/vm-body.inc).
#define LEVELS 3
#define VA_HIGH 0x3f80003000
#define VA_NEG 0xffffffffc0001000
#define VA_NONCANON 0x0000008000000000
#include "vm-body.inc"
