# Sv57 paging: the cases of env/vm-body.inc with five levels, plus a 512 GiB page.
#define LEVELS 5
#define VA_HIGH 0xff000000003000
#define VA_NEG 0xff00000000001000
#define VA_NONCANON 0x0200000000000000
#define VA_512G 0x8000000000
#include "vm-body.inc"
