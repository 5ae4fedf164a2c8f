# Sv48 paging: the cases of env/vm-body.inc with four levels, plus a 512 GiB page.
#define LEVELS 4
#define VA_HIGH 0x7f8000003000
#define VA_NEG 0xffff800000001000
#define VA_NONCANON 0x0001000000000000
#define VA_512G 0x8000000000
#include "vm-body.inc"
