/*
 * wisp's container init: PID 1 of a container microVM. Freestanding (no libc; raw Linux syscalls for
 * riscv64), so one small static binary serves every image. It
 *   1. mounts /dev /proc /sys of the initramfs and loads the kernel modules listed in /wisp/modules;
 *   2. puts the serial console in raw mode and speaks protocol.h with wisp on it: READY, then reads
 *      the container's config;
 *   3. mounts the image's root disk (/dev/vda, ext4, read-only) under a tmpfs overlay so the container
 *      can write, with proc, sysfs, devtmpfs, devpts, /dev/shm and /tmp inside; sets the hostname;
 *   4. starts the process chrooted there with its env, working directory, user and groups, on a
 *      terminal or on pipes, and relays its stdio, signals and window size;
 *   5. reaps every child (orphans come to PID 1), and when the process exits reports its status
 *      (EXIT) after all its output, then powers the machine off.
 */
#include "protocol.h"

typedef unsigned long size_t;
typedef long ssize_t;
typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned char u8;

/* asm-generic/unistd.h */
#define SYS_dup3 24
#define SYS_fcntl 25
#define SYS_ioctl 29
#define SYS_mkdirat 34
#define SYS_mount 40
#define SYS_chdir 49
#define SYS_chroot 51
#define SYS_openat 56
#define SYS_close 57
#define SYS_pipe2 59
#define SYS_read 63
#define SYS_write 64
#define SYS_ppoll 73
#define SYS_signalfd4 74
#define SYS_newfstatat 79
#define SYS_sync 81
#define SYS_exit 93
#define SYS_nanosleep 101
#define SYS_kill 129
#define SYS_rt_sigprocmask 135
#define SYS_reboot 142
#define SYS_setgid 144
#define SYS_setuid 146
#define SYS_setsid 157
#define SYS_setgroups 159
#define SYS_sethostname 161
#define SYS_umask 166
#define SYS_socket 198
#define SYS_clone 220
#define SYS_execve 221
#define SYS_wait4 260
#define SYS_finit_module 273

#define AT_FDCWD -100
#define O_RDONLY 0
#define O_WRONLY 1
#define O_RDWR 2
#define O_CREAT 0100
#define O_NOCTTY 0400
#define O_TRUNC 01000
#define O_NONBLOCK 04000
#define O_CLOEXEC 02000000
#define F_SETFL 4
#define EINTR 4
#define EAGAIN 11
#define EIO 5
#define ENOENT 2
#define EACCES 13
#define EEXIST 17
#define ENOTDIR 20
#define MS_RDONLY 1
#define MS_NOSUID 2
#define MS_NODEV 4
#define MS_NOEXEC 8
#define SIGKILL 9
#define SIGCHLD 17
#define WNOHANG 1
#define POLLIN 1
#define POLLOUT 4
#define POLLERR 8
#define POLLHUP 16
#define TCGETS 0x5401
#define TCSETS 0x5402
#define TCSBRK 0x5409
#define TIOCSCTTY 0x540E
#define TIOCSWINSZ 0x5414
#define TIOCGPTPEER 0x5441
#define TIOCSPTLCK 0x40045431

static long sc6(long n, long a, long b, long c, long d, long e, long f) {
  register long a0 asm("a0") = a, a1 asm("a1") = b, a2 asm("a2") = c, a3 asm("a3") = d, a4 asm("a4") = e, a5 asm("a5") = f;
  register long a7 asm("a7") = n;
  asm volatile("ecall" : "+r"(a0) : "r"(a1), "r"(a2), "r"(a3), "r"(a4), "r"(a5), "r"(a7) : "memory");
  return a0;
}
#define sc(n, a, b, c) sc6(n, (long)(a), (long)(b), (long)(c), 0, 0, 0)

void *memcpy(void *d, const void *s, size_t n) { u8 *dd = d; const u8 *ss = s; while (n--) *dd++ = *ss++; return d; }
void *memset(void *d, int c, size_t n) { u8 *dd = d; while (n--) *dd++ = (u8)c; return d; }
void *memmove(void *d, const void *s, size_t n) {
  u8 *dd = d; const u8 *ss = s;
  if (dd < ss) while (n--) *dd++ = *ss++; else { dd += n; ss += n; while (n--) *--dd = *--ss; }
  return d;
}
static size_t slen(const char *s) { size_t n = 0; while (s[n]) n++; return n; }
static int seq(const char *a, const char *b) { while (*a && *a == *b) { a++; b++; } return *a == *b; }
static int sneq(const char *a, const char *b, size_t n) { while (n && *a && *a == *b) { a++; b++; n--; } return n == 0 || *a == *b; }

static int tty = -1;
static void write_all(int fd, const void *p, size_t n) {
  const u8 *b = p;
  while (n) {
    long r = sc(SYS_write, fd, b, n);
    if (r == -EINTR || r == -EAGAIN) continue;
    if (r <= 0) return;
    b += r; n -= (size_t)r;
  }
}
static void send_frame(int type, const void *p, size_t n) {
  while (1) {
    size_t k = n > WISP_MAX_PAYLOAD ? WISP_MAX_PAYLOAD : n;
    u8 h[5] = { WISP_MAGIC0, WISP_MAGIC1, (u8)type, (u8)(k & 0xff), (u8)(k >> 8) };
    write_all(tty, h, 5);
    if (k) write_all(tty, p, k);
    p = (const u8 *)p + k; n -= k;
    if (!n) return;
  }
}

static char msgbuf[512];
static size_t msglen;
static void m_s(const char *s) { while (*s && msglen < sizeof msgbuf - 1) msgbuf[msglen++] = *s++; }
static void m_n(long v) {
  char t[24]; int i = 0;
  if (v < 0) { m_s("-"); v = -v; }
  do { t[i++] = (char)('0' + v % 10); v /= 10; } while (v);
  while (i) { char c[2] = { t[--i], 0 }; m_s(c); }
}
static const char *errname(long e) {
  switch (e) {
    case 1: return "Operation not permitted"; case 2: return "No such file or directory"; case 5: return "Input/output error";
    case 8: return "Exec format error"; case 13: return "Permission denied"; case 16: return "Device or resource busy";
    case 19: return "No such device"; case 20: return "Not a directory"; case 21: return "Is a directory";
    case 22: return "Invalid argument"; case 28: return "No space left on device"; case 36: return "File name too long";
    case 40: return "Too many levels of symbolic links"; default: return "error";
  }
}

static void power_off(void) {
  sc(SYS_ioctl, tty, TCSBRK, 1); /* tcdrain: every frame has left the UART */
  sc(SYS_sync, 0, 0, 0);
  sc6(SYS_reboot, 0xfee1dead, 672274793, 0x4321fedc, 0, 0, 0); /* LINUX_REBOOT_CMD_POWER_OFF */
  for (;;) { long ts[2] = { 3600, 0 }; sc(SYS_nanosleep, ts, 0, 0); }
}

static void report_exit(int how, int code) {
  u8 p[2] = { (u8)how, (u8)code };
  send_frame(WISP_G_EXIT, p, 2);
}

/* Setup failed: say why, report status 125 (the runtime's own failure, as Docker's), power off. */
static void die(long err) {
  if (err) { m_s(": "); m_s(errname(-err)); m_s(" (errno "); m_n(-err); m_s(")"); }
  send_frame(WISP_G_ERROR, msgbuf, msglen);
  report_exit(0, 125);
  power_off();
}

static void mkdir_p(const char *path, int mode) {
  char b[1024]; size_t n = slen(path);
  if (n >= sizeof b) return;
  memcpy(b, path, n + 1);
  for (size_t i = 1; i <= n; i++) {
    if (b[i] == '/' || b[i] == 0) {
      char c = b[i]; b[i] = 0;
      sc(SYS_mkdirat, AT_FDCWD, b, mode);
      b[i] = c;
    }
  }
}

static void must_mount(const char *src, const char *dst, const char *type, long flags, const char *data) {
  long r = sc6(SYS_mount, (long)src, (long)dst, (long)type, flags, (long)data, 0);
  if (r < 0) { msglen = 0; m_s("wisp-init: cannot mount "); m_s(type); m_s(" on "); m_s(dst); die(r); }
}

static int exists(const char *p) {
  long st[16];
  return sc6(SYS_newfstatat, AT_FDCWD, (long)p, (long)st, 0, 0, 0) == 0;
}

static void sleep_ms(long ms) { long ts[2] = { ms / 1000, (ms % 1000) * 1000000 }; sc(SYS_nanosleep, ts, 0, 0); }

static char filebuf[65536];
static long read_file(const char *path) {
  int fd = (int)sc6(SYS_openat, AT_FDCWD, (long)path, O_RDONLY | O_CLOEXEC, 0, 0, 0);
  if (fd < 0) return fd;
  long n = 0;
  while (n < (long)sizeof filebuf - 1) {
    long r = sc(SYS_read, fd, filebuf + n, sizeof filebuf - 1 - n);
    if (r <= 0) break;
    n += r;
  }
  sc(SYS_close, fd, 0, 0);
  filebuf[n] = 0;
  return n;
}

static void load_modules(void) {
  if (read_file("/wisp/modules") <= 0) return;
  static char list[65536];
  memcpy(list, filebuf, sizeof list);
  char *p = list;
  while (*p) {
    char *e = p; while (*e && *e != '\n') e++;
    char c = *e; *e = 0;
    if (*p) {
      int fd = (int)sc6(SYS_openat, AT_FDCWD, (long)p, O_RDONLY | O_CLOEXEC, 0, 0, 0);
      if (fd >= 0) {
        long r = sc(SYS_finit_module, fd, "", 0);
        sc(SYS_close, fd, 0, 0);
        if (r < 0 && r != -EEXIST) { msglen = 0; m_s("wisp-init: cannot load module "); m_s(p); die(r); }
      }
    }
    if (!c) break;
    p = e + 1;
  }
}

/* ---- config ---- */
#define MAX_ITEMS 512
static char cfg[262144];
static size_t cfglen;
static char *argv_[MAX_ITEMS + 1], *envp_[MAX_ITEMS + 2];
static int argc_, envc_;
static char *cwd_ = "/", *user_, *hostname_, *umask_, *net_, *resolv_;
static int want_tty, want_stdin, wait_start, readonly_root;
static char *mounts_[32]; static int nmounts;
static u32 extra_groups[64]; static int nextra;

static u32 parse_u32(const char *s, int *ok) {
  u32 v = 0; *ok = *s != 0;
  for (; *s; s++) { if (*s < '0' || *s > '9') { *ok = 0; return 0; } v = v * 10 + (u32)(*s - '0'); }
  return v;
}

static void parse_config(void) {
  size_t i = 0;
  while (i + 5 <= cfglen) {
    u8 tag = (u8)cfg[i];
    u32 len = (u8)cfg[i + 1] | (u32)(u8)cfg[i + 2] << 8 | (u32)(u8)cfg[i + 3] << 16 | (u32)(u8)cfg[i + 4] << 24;
    i += 5;
    if (i + len >= sizeof cfg || i + len > cfglen) break;
    char *v = cfg + i;
    /* Every string record ends in its own NUL (counted in LEN), so values are used in place. */
    switch (tag) {
      case WISP_C_ARG: if (argc_ < MAX_ITEMS) argv_[argc_++] = v; break;
      case WISP_C_ENV: if (envc_ < MAX_ITEMS) envp_[envc_++] = v; break;
      case WISP_C_CWD: cwd_ = v; break;
      case WISP_C_USER: user_ = v; break;
      case WISP_C_HOSTNAME: hostname_ = v; break;
      case WISP_C_TTY: want_tty = 1; break;
      case WISP_C_STDIN: want_stdin = 1; break;
      case WISP_C_WAIT_START: wait_start = 1; break;
      case WISP_C_READONLY: readonly_root = 1; break;
      case WISP_C_MOUNT: if (nmounts < 32) mounts_[nmounts++] = v; break;
      case WISP_C_GROUP: { int ok; u32 g = parse_u32(v, &ok); if (ok && nextra < 64) extra_groups[nextra++] = g; break; }
      case WISP_C_UMASK: umask_ = v; break;
      case WISP_C_NET: net_ = v; break;
      case WISP_C_RESOLV: resolv_ = v; break;
    }
    i += len;
  }
}

/* ---- frames from the host ---- */
static u8 inbuf[8192];
static size_t inlen;
static u8 stdin_buf[65536];
static size_t stdin_len;
static int stdin_eof, started, config_done;
static int child_pid, child_in = -1, out_fd = -1, err_fd = -1, master = -1;
static u16 winsize[4];

/* Processes started in the running container (runc exec), by the host's id for them. */
#define MAX_EXECS 8
#define EXEC_CFG 32768
#define EXEC_IN 32768
static struct exec_ {
  u8 used, id, start, exited, in_eof;
  int pid, in_w, out_r, err_r, how, code;
  size_t cfglen, inlen;
  char cfg[EXEC_CFG];
  u8 in[EXEC_IN];
} execs[MAX_EXECS];

static struct exec_ *exec_by_id(u8 id, int make) {
  for (int i = 0; i < MAX_EXECS; i++) if (execs[i].used && execs[i].id == id) return &execs[i];
  if (!make) return 0;
  for (int i = 0; i < MAX_EXECS; i++) if (!execs[i].used) {
    struct exec_ *e = &execs[i];
    e->used = 1; e->id = id; e->start = e->exited = e->in_eof = 0;
    e->pid = 0; e->in_w = e->out_r = e->err_r = -1; e->cfglen = e->inlen = 0;
    return e;
  }
  return 0;
}

static void handle_frame(int type, u8 *p, size_t n) {
  if (type >= WISP_H_EXEC_CONFIG && type <= WISP_H_EXEC_SIGNAL) {
    if (n < 1) return;
    struct exec_ *e = exec_by_id(p[0], type == WISP_H_EXEC_CONFIG);
    if (!e) {
      if (type == WISP_H_EXEC_START) { /* more than MAX_EXECS at once */
        static const char m[] = "wisp-init: too many processes started in the container at once";
        u8 f[1 + sizeof m]; f[0] = p[0]; memcpy(f + 1, m, sizeof m - 1);
        send_frame(WISP_G_EXEC_ERROR, f, sizeof m);
        u8 x[3] = { p[0], 0, 126 }; send_frame(WISP_G_EXEC_EXIT, x, 3);
      }
      return;
    }
    p++; n--;
    switch (type) {
      case WISP_H_EXEC_CONFIG:
        if (e->cfglen + n < EXEC_CFG) { memcpy(e->cfg + e->cfglen, p, n); e->cfglen += n; }
        break;
      case WISP_H_EXEC_START: e->start = 1; break;
      case WISP_H_EXEC_STDIN:
        if (n > EXEC_IN - e->inlen) n = EXEC_IN - e->inlen;
        memcpy(e->in + e->inlen, p, n); e->inlen += n;
        break;
      case WISP_H_EXEC_STDIN_EOF: e->in_eof = 1; break;
      case WISP_H_EXEC_SIGNAL: if (n >= 1 && e->pid > 0 && !e->exited) sc(SYS_kill, e->pid, p[0], 0); break;
    }
    return;
  }
  switch (type) {
    case WISP_H_CONFIG:
      if (cfglen + n < sizeof cfg) { memcpy(cfg + cfglen, p, n); cfglen += n; }
      break;
    case WISP_H_CONFIG_END: config_done = 1; break;
    case WISP_H_START: started = 1; break;
    case WISP_H_STDIN:
      if (n > sizeof stdin_buf - stdin_len) n = sizeof stdin_buf - stdin_len; /* the host keeps within the window */
      memcpy(stdin_buf + stdin_len, p, n); stdin_len += n;
      break;
    case WISP_H_STDIN_EOF: stdin_eof = 1; break;
    case WISP_H_SIGNAL:
      /* [signo] to the process; [signo, 1] to every process of the container (kill(-1) spares PID 1). */
      if (n >= 1 && child_pid > 0) sc(SYS_kill, n >= 2 && p[1] == 1 ? -1 : child_pid, p[0], 0);
      break;
    case WISP_H_WINSIZE:
      /* Kept until the terminal exists (a size may come before START), then applied. */
      if (n >= 4) {
        winsize[0] = (u16)(p[0] | p[1] << 8); winsize[1] = (u16)(p[2] | p[3] << 8);
        if (master >= 0) sc(SYS_ioctl, master, TIOCSWINSZ, winsize);
      }
      break;
  }
}

/* Reads what the serial port has and handles whole frames; bytes before a magic are skipped. */
static int pump_tty(void) {
  long r = sc(SYS_read, tty, inbuf + inlen, sizeof inbuf - inlen);
  if (r <= 0) return (int)r;
  inlen += (size_t)r;
  size_t i = 0;
  while (1) {
    while (i < inlen && inbuf[i] != WISP_MAGIC0) i++;
    if (inlen - i < 5) break;
    if (inbuf[i + 1] != WISP_MAGIC1) { i++; continue; }
    size_t n = inbuf[i + 3] | (size_t)inbuf[i + 4] << 8;
    if (n > WISP_MAX_PAYLOAD) { i++; continue; }
    if (inlen - i < 5 + n) break;
    handle_frame(inbuf[i + 2], inbuf + i + 5, n);
    i += 5 + n;
  }
  memmove(inbuf, inbuf + i, inlen - i);
  inlen -= i;
  return 1;
}

static void raw_tty(int fd) {
  u32 t[4 + 5]; /* c_iflag c_oflag c_cflag c_lflag, c_line, c_cc[19] (struct termios, asm-generic) */
  u8 *b = (u8 *)t;
  if (sc(SYS_ioctl, fd, TCGETS, t) < 0) return;
  t[0] &= ~(u32)(02 | 010 | 040 | 0100 | 0200 | 0400 | 02000);
  t[0] |= 01 | 04; /* IGNBRK, IGNPAR: no NUL ever enters the stream for a line condition */
  t[1] &= ~(u32)01;
  t[2] = (t[2] & ~(u32)(060 | 0400)) | 060;
  t[3] &= ~(u32)(010 | 0100 | 02 | 01 | 0100000);
  b[17 + 5] = 0; /* VTIME */
  b[17 + 6] = 1; /* VMIN */
  sc(SYS_ioctl, fd, TCSETS, t);
}

/* ---- users ---- */
static int find_field(char *line, int idx, char **out) {
  for (int f = 0; f < idx; f++) { while (*line && *line != ':') line++; if (!*line) return 0; line++; }
  *out = line; return 1;
}
static int lookup(const char *file, const char *name, u32 *id, u32 *gid) {
  if (read_file(file) <= 0) return 0;
  char *p = filebuf;
  while (*p) {
    char *e = p; while (*e && *e != '\n') e++;
    char c = *e; *e = 0;
    char *colon = p; while (*colon && *colon != ':') colon++;
    if (*colon) {
      *colon = 0;
      if (seq(p, name)) {
        char *f2, *f3; *colon = ':';
        if (find_field(p, 2, &f2) && (!gid || find_field(p, 3, &f3))) {
          char *t = f2; while (*t && *t != ':') t++; char sv = *t; *t = 0; int ok; *id = parse_u32(f2, &ok); *t = sv;
          if (gid) { t = f3; while (*t && *t != ':') t++; sv = *t; *t = 0; *gid = parse_u32(f3, &ok); *t = sv; }
          return ok;
        }
      }
      *colon = ':';
    }
    if (!c) break;
    p = e + 1;
  }
  return 0;
}
static char home_[512];
/* Groups in /etc/group that list `name` as a member. */
static void member_groups(const char *name) {
  if (read_file("/etc/group") <= 0) return;
  char *p = filebuf;
  while (*p && nextra < 64) {
    char *e = p; while (*e && *e != '\n') e++;
    char c = *e; *e = 0;
    char *f2, *f3;
    if (find_field(p, 2, &f2) && find_field(p, 3, &f3)) {
      char *m = f3;
      while (*m) {
        char *me = m; while (*me && *me != ',') me++;
        size_t ln = (size_t)(me - m);
        if (ln == slen(name) && sneq(m, name, ln)) {
          char *t = f2; while (*t && *t != ':') t++; char sv = *t; *t = 0; int ok; u32 g = parse_u32(f2, &ok); *t = sv;
          if (ok) extra_groups[nextra++] = g;
        }
        if (!*me) break;
        m = me + 1;
      }
    }
    if (!c) break;
    p = e + 1;
  }
}
static void find_home(const char *name) {
  if (read_file("/etc/passwd") <= 0) return;
  char *p = filebuf;
  while (*p) {
    char *e = p; while (*e && *e != '\n') e++;
    char c = *e; *e = 0;
    char *colon = p; while (*colon && *colon != ':') colon++;
    if ((size_t)(colon - p) == slen(name) && sneq(p, name, slen(name))) {
      char *f5;
      if (find_field(p, 5, &f5)) {
        size_t k = 0; while (f5[k] && f5[k] != ':' && k < sizeof home_ - 1) { home_[k] = f5[k]; k++; }
        home_[k] = 0;
      }
    }
    if (!c) break;
    p = e + 1;
  }
}

/* Runs inside the chroot (the container's /etc); returns 0 or sets msgbuf. */
static int resolve_user(u32 *uid, u32 *gid) {
  *uid = 0; *gid = 0;
  if (!user_ || !*user_) { find_home("root"); return 0; }
  char *colon = user_; while (*colon && *colon != ':') colon++;
  char *group = 0;
  if (*colon) { *colon = 0; group = colon + 1; }
  int ok;
  u32 n = parse_u32(user_, &ok);
  if (ok) {
    *uid = n;
    /* A number: its passwd entry (if any) gives the group and home, as runc does. */
    if (read_file("/etc/passwd") > 0) {
      char *p = filebuf;
      while (*p) {
        char *e = p; while (*e && *e != '\n') e++;
        char c = *e; *e = 0;
        char *f2, *f3, *f5;
        if (find_field(p, 2, &f2) && find_field(p, 3, &f3)) {
          char *t = f2; while (*t && *t != ':') t++; char sv = *t; *t = 0; int ok2; u32 u = parse_u32(f2, &ok2); *t = sv;
          if (ok2 && u == n) {
            t = f3; while (*t && *t != ':') t++; sv = *t; *t = 0; *gid = parse_u32(f3, &ok2); *t = sv;
            if (find_field(p, 5, &f5)) { size_t j = 0; while (f5[j] && f5[j] != ':' && j < sizeof home_ - 1) { home_[j] = f5[j]; j++; } home_[j] = 0; }
            break;
          }
        }
        if (!c) break;
        p = e + 1;
      }
    }
  } else {
    if (!lookup("/etc/passwd", user_, uid, gid)) {
      msglen = 0; m_s("unable to find user "); m_s(user_); m_s(": no matching entries in passwd file");
      return -1;
    }
    find_home(user_);
    member_groups(user_);
  }
  if (group && *group) {
    u32 g = parse_u32(group, &ok);
    if (ok) *gid = g;
    else if (!lookup("/etc/group", group, gid, 0)) {
      msglen = 0; m_s("unable to find group "); m_s(group); m_s(": no matching entries in group file");
      return -1;
    }
  }
  return 0;
}

static int has_env(const char *key) {
  size_t k = slen(key);
  for (int i = 0; i < envc_; i++) if (sneq(envp_[i], key, k) && envp_[i][k] == '=') return 1;
  return 0;
}
static const char *get_env(const char *key) {
  size_t k = slen(key);
  for (int i = 0; i < envc_; i++) if (sneq(envp_[i], key, k) && envp_[i][k] == '=') return envp_[i] + k + 1;
  return 0;
}

/* In the child, after chroot: PATH lookup as execvp does; returns the last error. */
static long exec_path(void) {
  const char *file = argv_[0];
  for (const char *s = file; *s; s++) if (*s == '/') return sc(SYS_execve, file, argv_, envp_);
  const char *path = get_env("PATH");
  if (!path) path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  long err = -ENOENT;
  static char full[4096];
  while (1) {
    const char *e = path; while (*e && *e != ':') e++;
    size_t dl = (size_t)(e - path), fl = slen(file);
    if (dl + fl + 2 < sizeof full) {
      memcpy(full, path, dl);
      size_t o = dl;
      if (dl) full[o++] = '/';
      memcpy(full + o, file, fl + 1);
      long r = sc(SYS_execve, full, argv_, envp_);
      if (r == -EACCES) err = r; else if (r != -ENOENT && r != -ENOTDIR) return r;
    }
    if (!*e) break;
    path = e + 1;
  }
  return err;
}

/* mount(8)'s flag words become MS_* flags (include/uapi/linux/mount.h); propagation words are
   dropped (the container has no mounts to share with); everything else is the filesystem's data. */
static const struct { const char *name; long set, clear; } mount_flags[] = {
  { "ro", MS_RDONLY, 0 }, { "rw", 0, MS_RDONLY }, { "nosuid", MS_NOSUID, 0 }, { "suid", 0, MS_NOSUID },
  { "nodev", MS_NODEV, 0 }, { "dev", 0, MS_NODEV }, { "noexec", MS_NOEXEC, 0 }, { "exec", 0, MS_NOEXEC },
  { "sync", 16, 0 }, { "async", 0, 16 }, { "dirsync", 128, 0 }, { "noatime", 1024, 0 }, { "atime", 0, 1024 },
  { "nodiratime", 2048, 0 }, { "diratime", 0, 2048 }, { "relatime", 1L << 21, 0 }, { "norelatime", 0, 1L << 21 },
  { "strictatime", 1L << 24, 0 }, { "nostrictatime", 0, 1L << 24 }, { "lazytime", 1L << 25, 0 }, { "nolazytime", 0, 1L << 25 },
  { "private", 0, 0 }, { "rprivate", 0, 0 }, { "shared", 0, 0 }, { "rshared", 0, 0 }, { "slave", 0, 0 },
  { "rslave", 0, 0 }, { "unbindable", 0, 0 }, { "runbindable", 0, 0 },
};
static long mount_options(const char *opt, char *data, size_t cap) {
  long flags = 0; size_t dl = 0;
  data[0] = 0;
  while (*opt) {
    const char *e = opt; while (*e && *e != ',') e++;
    size_t n = (size_t)(e - opt), k, known = 0;
    for (k = 0; k < sizeof mount_flags / sizeof mount_flags[0]; k++) {
      if (slen(mount_flags[k].name) == n && sneq(opt, mount_flags[k].name, n)) {
        flags = (flags | mount_flags[k].set) & ~mount_flags[k].clear; known = 1; break;
      }
    }
    if (!known && n && dl + n + 2 < cap) {
      if (dl) data[dl++] = ',';
      memcpy(data + dl, opt, n); dl += n; data[dl] = 0;
    }
    opt = *e ? e + 1 : e;
  }
  return flags;
}

/* ---- network: lo up always (as runc does in a new network namespace); an interface from NET ---- */
#define SIOCADDRT 0x890B
#define SIOCGIFFLAGS 0x8913
#define SIOCSIFFLAGS 0x8914
#define SIOCSIFADDR 0x8916
#define SIOCSIFNETMASK 0x891c
#define IFF_UP 1
struct sin { u16 family, port; u32 addr; u8 zero[8]; };
struct ifreq_ { char name[16]; union { struct sin addr; short flags; u8 pad[24]; } u; };
struct rtentry_ { /* LP64 layout of struct rtentry (linux/route.h) */
  unsigned long pad1; struct sin dst, gateway, genmask; u16 flags; short pad2; unsigned long pad3;
  void *pad4; short metric; char *dev; unsigned long mtu, window; u16 irtt;
};

/* "a.b.c.d" -> network-order u32; 0 on error (0.0.0.0 is never wanted here). */
static u32 parse_ip(const char *s, const char **end) {
  u32 v = 0;
  for (int i = 0; i < 4; i++) {
    u32 o = 0; int n = 0;
    while (*s >= '0' && *s <= '9' && n < 4) { o = o * 10 + (u32)(*s++ - '0'); n++; }
    if (!n || o > 255 || (i < 3 && *s++ != '.')) return 0;
    v |= o << (8 * i);
  }
  *end = s;
  return v;
}

static void if_up(int fd, const char *name) {
  struct ifreq_ r; memset(&r, 0, sizeof r); memcpy(r.name, name, slen(name) + 1);
  long e = sc(SYS_ioctl, fd, SIOCGIFFLAGS, &r);
  if (e < 0) { msglen = 0; m_s("wisp-init: no network interface "); m_s(name); die(e); }
  r.u.flags |= IFF_UP;
  if ((e = sc(SYS_ioctl, fd, SIOCSIFFLAGS, &r)) < 0) { msglen = 0; m_s("wisp-init: cannot bring "); m_s(name); m_s(" up"); die(e); }
}

/* NET: "IFNAME ADDR PREFIXLEN GATEWAY". */
static void setup_net(void) {
  int fd = (int)sc(SYS_socket, 2 /* AF_INET */, 2 /* SOCK_DGRAM */ | O_CLOEXEC, 0);
  if (fd < 0) { msglen = 0; m_s("wisp-init: cannot make a socket for the network set-up"); die(fd); }
  if_up(fd, "lo");
  if (net_) {
    static char name[16];
    const char *p = net_; size_t n = 0;
    while (*p && *p != ' ' && n < 15) name[n++] = *p++;
    name[n] = 0;
    const char *e; u32 addr, gw, bits = 0;
    if (*p++ != ' ' || !(addr = parse_ip(p, &e)) || *e++ != ' ') goto bad;
    p = e; while (*p >= '0' && *p <= '9') bits = bits * 10 + (u32)(*p++ - '0');
    if (bits < 1 || bits > 32 || *p++ != ' ' || !(gw = parse_ip(p, &e))) goto bad;
    u32 hm = bits == 32 ? 0xffffffffu : ~(0xffffffffu >> bits), mask = 0; /* the first `bits` bits set */
    for (int i = 0; i < 4; i++) mask |= ((hm >> (24 - 8 * i)) & 0xff) << (8 * i); /* to network order */
    struct ifreq_ r; memset(&r, 0, sizeof r); memcpy(r.name, name, n + 1);
    r.u.addr.family = 2; r.u.addr.addr = addr;
    long err;
    /* The device may still be probing: give it a second or two to appear. */
    for (int i = 0; i < 100 && (err = sc(SYS_ioctl, fd, SIOCSIFADDR, &r)) == -19 /* ENODEV */; i++) sleep_ms(20);
    if (err < 0) { msglen = 0; m_s("wisp-init: cannot give "); m_s(name); m_s(" its address"); die(err); }
    r.u.addr.addr = mask;
    if ((err = sc(SYS_ioctl, fd, SIOCSIFNETMASK, &r)) < 0) { msglen = 0; m_s("wisp-init: cannot set the netmask of "); m_s(name); die(err); }
    if_up(fd, name);
    struct rtentry_ rt; memset(&rt, 0, sizeof rt);
    rt.dst.family = 2; rt.genmask.family = 2; rt.gateway.family = 2; rt.gateway.addr = gw;
    rt.flags = 1 /* RTF_UP */ | 2 /* RTF_GATEWAY */; rt.dev = name;
    if ((err = sc(SYS_ioctl, fd, SIOCADDRT, &rt)) < 0) { msglen = 0; m_s("wisp-init: cannot add the default route via "); m_s(name); die(err); }
  }
  sc(SYS_close, fd, 0, 0);
  return;
bad:
  msglen = 0; m_s("wisp-init: bad network configuration \""); m_s(net_); m_s("\""); die(0);
}

static void setup_root(void) {
  mkdir_p("/mnt/lower", 0755); mkdir_p("/mnt/rw", 0755); mkdir_p("/mnt/root", 0755);
  for (int i = 0; i < 100 && !exists("/dev/vda"); i++) sleep_ms(20);
  if (readonly_root) {
    must_mount("/dev/vda", "/mnt/root", "ext4", MS_RDONLY, "noload");
  } else {
    must_mount("/dev/vda", "/mnt/lower", "ext4", MS_RDONLY, "noload");
    must_mount("tmpfs", "/mnt/rw", "tmpfs", 0, "mode=0755");
    mkdir_p("/mnt/rw/upper", 0755); mkdir_p("/mnt/rw/work", 0755);
    must_mount("overlay", "/mnt/root", "overlay", 0, "lowerdir=/mnt/lower,upperdir=/mnt/rw/upper,workdir=/mnt/rw/work");
  }
  /* Mount points the image may lack: made in the overlay (a read-only root must have them). */
  static const char *dirs[] = { "/mnt/root/proc", "/mnt/root/sys", "/mnt/root/dev", "/mnt/root/tmp" };
  for (int i = 0; i < 4; i++) if (!readonly_root) mkdir_p(dirs[i], 0755);
  must_mount("proc", "/mnt/root/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, 0);
  must_mount("sysfs", "/mnt/root/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, 0);
  must_mount("devtmpfs", "/mnt/root/dev", "devtmpfs", MS_NOSUID, "mode=0755");
  mkdir_p("/mnt/root/dev/pts", 0755); mkdir_p("/mnt/root/dev/shm", 01777);
  must_mount("devpts", "/mnt/root/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5");
  must_mount("shm", "/mnt/root/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
  must_mount("tmpfs", "/mnt/root/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
  for (int i = 0; i < nmounts; i++) {
    char *type = mounts_[i], *src = type + slen(type) + 1, *dst = src + slen(src) + 1, *opt = dst + slen(dst) + 1;
    static char target[1024];
    size_t tl = slen(dst);
    if (tl + 10 >= sizeof target) continue;
    memcpy(target, "/mnt/root", 9); memcpy(target + 9, dst, tl + 1);
    if (!readonly_root) mkdir_p(target, 0755);
    static char data[1024];
    long flags = mount_options(opt, data, sizeof data);
    must_mount(src, target, type, flags, *data ? data : 0);
  }
  setup_net();
  if (resolv_ && !readonly_root && exists("/mnt/root/etc")) {
    int fd = (int)sc6(SYS_openat, AT_FDCWD, (long)"/mnt/root/etc/resolv.conf", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644, 0, 0);
    if (fd >= 0) { write_all(fd, resolv_, slen(resolv_)); sc(SYS_close, fd, 0, 0); }
  }
  if (hostname_ && *hostname_) {
    sc(SYS_sethostname, hostname_, slen(hostname_), 0);
    if (!readonly_root && exists("/mnt/root/etc")) {
      int fd = (int)sc6(SYS_openat, AT_FDCWD, (long)"/mnt/root/etc/hostname", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644, 0, 0);
      if (fd >= 0) { write_all(fd, hostname_, slen(hostname_)); write_all(fd, "\n", 1); sc(SYS_close, fd, 0, 0); }
      fd = (int)sc6(SYS_openat, AT_FDCWD, (long)"/mnt/root/etc/hosts", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644, 0, 0);
      if (fd >= 0) {
        static const char h[] = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t";
        write_all(fd, h, sizeof h - 1); write_all(fd, hostname_, slen(hostname_)); write_all(fd, "\n", 1);
        sc(SYS_close, fd, 0, 0);
      }
    }
  }
}

static void set_nonblock(int fd) { sc(SYS_fcntl, fd, F_SETFL, O_NONBLOCK | O_RDWR); }

static char outbuf[WISP_MAX_PAYLOAD];
/* Relays what `fd` has; returns 0 at its end (EOF, or EIO from a pty whose other side closed). */
static int relay(int fd, int type) {
  long r = sc(SYS_read, fd, outbuf, sizeof outbuf);
  if (r > 0) { send_frame(type, outbuf, (size_t)r); return 1; }
  if (r == -EAGAIN || r == -EINTR) return 2;
  return 0;
}

/* In a new process, before child_run: every signal unblocked (the init blocks them for its
   signalfd), a session of its own, and stdin from `in` (/dev/null when in < 0), stdout and stderr
   from `out` and `err`. Shared by the container's process and exec'd ones. */
static void child_stdio(int in, int out, int err) {
  unsigned long none = 0;
  sc6(SYS_rt_sigprocmask, 2 /* SIG_SETMASK */, (long)&none, 0, 8, 0, 0);
  sc(SYS_setsid, 0, 0, 0);
  if (in < 0) in = (int)sc6(SYS_openat, AT_FDCWD, (long)"/dev/null", O_RDONLY, 0, 0, 0);
  sc(SYS_dup3, in, 0, 0); sc(SYS_dup3, out, 1, 0); sc(SYS_dup3, err, 2, 0);
}

/* In a new process, its stdio in place: enter the container's root, take the user, working
   directory and environment of the config in argv_/envp_/cwd_/..., and exec. On failure, the status
   (126/127) and the reason go to `errfd` and the process exits. */
static void child_run(int errfd) {
  long r;
  msglen = 0;
  if ((r = sc(SYS_chroot, "/mnt/root", 0, 0)) < 0) { m_s("cannot enter the container's root"); goto fail; }
  sc(SYS_chdir, "/", 0, 0);
  u32 uid, gid;
  if (resolve_user(&uid, &gid) < 0) { r = 0; goto fail_status; }
  if (!has_env("HOME") && envc_ < MAX_ITEMS) {
    static char h[520]; memcpy(h, "HOME=", 5);
    const char *hv = home_[0] ? home_ : "/";
    memcpy(h + 5, hv, slen(hv) + 1); envp_[envc_++] = h;
  }
  envp_[envc_] = 0;
  mkdir_p(cwd_, 0755);
  if ((r = sc(SYS_chdir, cwd_, 0, 0)) < 0) { m_s("cannot change to the working directory "); m_s(cwd_); goto fail; }
  if ((r = sc(SYS_setgroups, nextra, extra_groups, 0)) < 0) { m_s("cannot set groups"); goto fail; }
  if ((r = sc(SYS_setgid, gid, 0, 0)) < 0) { m_s("cannot set the group id"); goto fail; }
  if ((r = sc(SYS_setuid, uid, 0, 0)) < 0) { m_s("cannot set the user id"); goto fail; }
  if (umask_) { u32 m = 0; for (const char *s = umask_; *s; s++) m = m * 8 + (u32)(*s - '0'); sc(SYS_umask, m, 0, 0); }
  else sc(SYS_umask, 022, 0, 0);
  r = exec_path();
  m_s("exec "); m_s(argv_[0]);
fail:
  if (r) { m_s(": "); m_s(errname(-r)); }
fail_status:;
  u8 code = (u8)(r == -ENOENT || r == -ENOTDIR ? 127 : r == 0 ? 126 : 126);
  write_all(errfd, &code, 1);
  write_all(errfd, msgbuf, msglen);
  sc(SYS_exit, code, 0, 0);
}

/* Does the exec's config hold a record with `tag`? */
static int exec_has(struct exec_ *e, u8 tag) {
  size_t i = 0;
  while (i + 5 <= e->cfglen) {
    u32 len = (u8)e->cfg[i + 1] | (u32)(u8)e->cfg[i + 2] << 8 | (u32)(u8)e->cfg[i + 3] << 16 | (u32)(u8)e->cfg[i + 4] << 24;
    if ((u8)e->cfg[i] == tag) return 1;
    i += 5 + len;
  }
  return 0;
}

static void exec_frame(int type, struct exec_ *e, const void *p, size_t n) {
  static u8 f[WISP_MAX_PAYLOAD];
  if (n > sizeof f - 1) n = sizeof f - 1;
  f[0] = e->id; memcpy(f + 1, p, n);
  send_frame(type, f, n + 1);
}

/* Starts the exec'd process `e` (its stdin a pipe if its config says STDIN, else /dev/null). */
static void spawn_exec(struct exec_ *e) {
  e->start = 0;
  int want_in = exec_has(e, WISP_C_STDIN), in_r = -1, out_w, err_w, p[2], errpipe[2];
  if (want_in) { sc(SYS_pipe2, p, O_CLOEXEC, 0); in_r = p[0]; e->in_w = p[1]; }
  sc(SYS_pipe2, p, O_CLOEXEC, 0); e->out_r = p[0]; out_w = p[1];
  sc(SYS_pipe2, p, O_CLOEXEC, 0); e->err_r = p[0]; err_w = p[1];
  sc(SYS_pipe2, errpipe, O_CLOEXEC, 0);
  long pid = sc6(SYS_clone, SIGCHLD, 0, 0, 0, 0, 0);
  if (pid == 0) {
    child_stdio(in_r, out_w, err_w);
    /* This process's own copy of the globals takes the exec's config in place of the container's. */
    memcpy(cfg, e->cfg, e->cfglen); cfglen = e->cfglen;
    argc_ = envc_ = 0; cwd_ = "/"; user_ = 0; umask_ = 0; nextra = 0; home_[0] = 0;
    parse_config();
    argv_[argc_] = 0;
    if (argc_ == 0) { u8 c = 126; static const char m[] = "no command to run"; write_all(errpipe[1], &c, 1); write_all(errpipe[1], m, sizeof m - 1); sc(SYS_exit, c, 0, 0); }
    child_run(errpipe[1]);
  }
  sc(SYS_close, errpipe[1], 0, 0);
  if (in_r >= 0) sc(SYS_close, in_r, 0, 0);
  sc(SYS_close, out_w, 0, 0); sc(SYS_close, err_w, 0, 0);
  static char eb[600];
  long n = 0, r;
  if (pid > 0) while ((r = sc(SYS_read, errpipe[0], eb + n, sizeof eb - n)) > 0) n += r;
  sc(SYS_close, errpipe[0], 0, 0);
  if (pid < 0 || n > 0) {
    /* Not started: the reason, then its status; the slot is free again. */
    u8 code = 126;
    if (pid < 0) { msglen = 0; m_s("wisp-init: cannot start the process: "); m_s(errname(-pid)); exec_frame(WISP_G_EXEC_ERROR, e, msgbuf, msglen); }
    else { exec_frame(WISP_G_EXEC_ERROR, e, eb + 1, (size_t)(n - 1)); code = (u8)eb[0]; int st = 0; sc6(SYS_wait4, pid, (long)&st, 0, 0, 0, 0); }
    u8 x[2] = { 0, code }; exec_frame(WISP_G_EXEC_EXIT, e, x, 2);
    if (e->in_w >= 0) sc(SYS_close, e->in_w, 0, 0);
    sc(SYS_close, e->out_r, 0, 0); sc(SYS_close, e->err_r, 0, 0);
    e->used = 0;
    return;
  }
  e->pid = (int)pid;
  u32 pid32 = (u32)pid;
  exec_frame(WISP_G_EXEC_STARTED, e, &pid32, 4);
  if (e->in_w >= 0) set_nonblock(e->in_w);
  set_nonblock(e->out_r); set_nonblock(e->err_r);
}

/* Relays what an exec's `fd` has, as relay() does. */
static int relay_exec(struct exec_ *e, int fd, int type) {
  static u8 b[WISP_MAX_PAYLOAD - 1];
  long r = sc(SYS_read, fd, b, sizeof b);
  if (r > 0) { exec_frame(type, e, b, (size_t)r); return 1; }
  if (r == -EAGAIN || r == -EINTR) return 2;
  return 0;
}

static void cmain(void) {
  sc6(SYS_mount, (long)"devtmpfs", (long)"/dev", (long)"devtmpfs", MS_NOSUID, (long)"mode=0755", 0);
  sc6(SYS_mount, (long)"proc", (long)"/proc", (long)"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, 0, 0);
  sc6(SYS_mount, (long)"sysfs", (long)"/sys", (long)"sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, 0, 0);
  tty = (int)sc6(SYS_openat, AT_FDCWD, (long)"/dev/ttyS0", O_RDWR | O_NOCTTY | O_CLOEXEC, 0, 0, 0);
  if (tty < 0) tty = (int)sc6(SYS_openat, AT_FDCWD, (long)"/dev/console", O_RDWR | O_NOCTTY | O_CLOEXEC, 0, 0, 0);
  raw_tty(tty);
  u8 v = WISP_PROTOCOL_VERSION;
  send_frame(WISP_G_READY, &v, 1);
  load_modules();

  while (!config_done) if (pump_tty() < 0) sleep_ms(10);
  parse_config();
  if (argc_ == 0) { msglen = 0; m_s("wisp-init: no command to run (the config held "); m_n((long)cfglen); m_s(" bytes)"); die(0); }
  argv_[argc_] = 0;

  /* SIGCHLD through a signalfd: PID 1 reaps in its poll loop. */
  unsigned long mask = 1UL << (SIGCHLD - 1);
  sc6(SYS_rt_sigprocmask, 0 /* SIG_BLOCK */, (long)&mask, 0, 8, 0, 0);
  int sfd = (int)sc6(SYS_signalfd4, -1, (long)&mask, 8, O_NONBLOCK | O_CLOEXEC, 0, 0);

  setup_root();
  if (wait_start) {
    send_frame(WISP_G_CREATED, 0, 0);
    while (!started) if (pump_tty() < 0) sleep_ms(10);
  }

  int in_r = -1, in_w = -1, out_r = -1, out_w = -1, err_r = -1, err_w = -1, slave = -1, p[2];
  if (want_tty) {
    master = (int)sc6(SYS_openat, AT_FDCWD, (long)"/mnt/root/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC, 0, 0, 0);
    if (master < 0) { msglen = 0; m_s("wisp-init: cannot open a terminal"); die(master); }
    int unlock = 0;
    sc(SYS_ioctl, master, TIOCSPTLCK, &unlock);
    if (winsize[0] || winsize[1]) sc(SYS_ioctl, master, TIOCSWINSZ, winsize);
    slave = (int)sc(SYS_ioctl, master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
    if (slave < 0) { msglen = 0; m_s("wisp-init: cannot open the terminal's other side"); die(slave); }
    if (want_stdin) child_in = master;
  } else {
    if (want_stdin) { sc(SYS_pipe2, p, O_CLOEXEC, 0); in_r = p[0]; in_w = p[1]; child_in = in_w; }
    sc(SYS_pipe2, p, O_CLOEXEC, 0); out_r = p[0]; out_w = p[1];
    sc(SYS_pipe2, p, O_CLOEXEC, 0); err_r = p[0]; err_w = p[1];
  }
  int errpipe[2];
  sc(SYS_pipe2, errpipe, O_CLOEXEC, 0);

  long pid = sc6(SYS_clone, SIGCHLD, 0, 0, 0, 0, 0);
  if (pid == 0) {
    if (want_tty) {
      child_stdio(want_stdin ? slave : -1, slave, slave);
      sc(SYS_ioctl, slave, TIOCSCTTY, 0); /* the new session's controlling terminal */
    } else {
      child_stdio(in_r, out_w, err_w);
    }
    child_run(errpipe[1]);
  }
  if (pid < 0) { msglen = 0; m_s("wisp-init: cannot start the process"); die(pid); }
  child_pid = (int)pid;
  sc(SYS_close, errpipe[1], 0, 0);
  if (slave >= 0) sc(SYS_close, slave, 0, 0);
  if (in_r >= 0) sc(SYS_close, in_r, 0, 0);
  if (out_w >= 0) sc(SYS_close, out_w, 0, 0);
  if (err_w >= 0) sc(SYS_close, err_w, 0, 0);
  {
    static char eb[600];
    long n = 0, r;
    while ((r = sc(SYS_read, errpipe[0], eb + n, sizeof eb - n)) > 0) n += r;
    sc(SYS_close, errpipe[0], 0, 0);
    if (n > 0) {
      /* The child failed before exec: its message, then its status. */
      send_frame(WISP_G_ERROR, eb + 1, (size_t)(n - 1));
      int st = 0; sc6(SYS_wait4, pid, (long)&st, 0, 0, 0, 0);
      report_exit(0, (u8)eb[0]);
      power_off();
    }
  }
  u32 pid32 = (u32)pid;
  send_frame(WISP_G_STARTED, &pid32, 4);

  if (want_tty) { out_fd = master; set_nonblock(master); }
  else { out_fd = out_r; err_fd = err_r; set_nonblock(out_r); set_nonblock(err_r); }
  if (child_in >= 0 && child_in != master) set_nonblock(child_in);
  int done = 0, how = 0, code = 0;
  while (!done) {
    struct { int fd; short events, revents; } fds[5 + 3 * MAX_EXECS];
    int nf = 0, i_tty = -1, i_out = -1, i_err = -1, i_sig = -1, i_in = -1;
    int x_out[MAX_EXECS], x_err[MAX_EXECS], x_in[MAX_EXECS];
    /* The serial port is read only while every stdin buffer has room for what a read may bring. */
    int room = stdin_len < sizeof stdin_buf - WISP_MAX_PAYLOAD - sizeof inbuf;
    for (int k = 0; k < MAX_EXECS; k++) if (execs[k].used && execs[k].inlen >= EXEC_IN - WISP_MAX_PAYLOAD - sizeof inbuf) room = 0;
    if (room) { i_tty = nf; fds[nf].fd = tty; fds[nf++].events = POLLIN; }
    for (int k = 0; k < MAX_EXECS; k++) {
      struct exec_ *e = &execs[k];
      x_out[k] = x_err[k] = x_in[k] = -1;
      if (!e->used || !e->pid) continue;
      if (e->out_r >= 0) { x_out[k] = nf; fds[nf].fd = e->out_r; fds[nf++].events = POLLIN; }
      if (e->err_r >= 0) { x_err[k] = nf; fds[nf].fd = e->err_r; fds[nf++].events = POLLIN; }
      if (e->in_w >= 0 && e->inlen) { x_in[k] = nf; fds[nf].fd = e->in_w; fds[nf++].events = POLLOUT; }
    }
    if (out_fd >= 0) { i_out = nf; fds[nf].fd = out_fd; fds[nf++].events = POLLIN; }
    if (err_fd >= 0) { i_err = nf; fds[nf].fd = err_fd; fds[nf++].events = POLLIN; }
    i_sig = nf; fds[nf].fd = sfd; fds[nf++].events = POLLIN;
    if (child_in >= 0 && child_in != master && stdin_len) { i_in = nf; fds[nf].fd = child_in; fds[nf++].events = POLLOUT; }
    for (int k = 0; k < nf; k++) fds[k].revents = 0;
    long r = sc6(SYS_ppoll, (long)fds, nf, 0, 0, 8, 0);
    if (r < 0) continue;
    if (i_tty >= 0 && fds[i_tty].revents) pump_tty();
    for (int k = 0; k < MAX_EXECS; k++) {
      struct exec_ *e = &execs[k];
      if (!e->used) continue;
      if (e->start && !e->pid) { spawn_exec(e); continue; }
      if (!e->pid) continue;
      if (x_in[k] >= 0 && fds[x_in[k]].revents) {
        long w = sc(SYS_write, e->in_w, e->in, e->inlen);
        if (w > 0) { memmove(e->in, e->in + w, e->inlen - (size_t)w); e->inlen -= (size_t)w; }
        else if (w != -EAGAIN) { sc(SYS_close, e->in_w, 0, 0); e->in_w = -1; e->inlen = 0; }
      }
      if (e->in_w < 0) e->inlen = 0;
      if (e->in_eof && !e->inlen && e->in_w >= 0) { sc(SYS_close, e->in_w, 0, 0); e->in_w = -1; }
      if (x_out[k] >= 0 && (fds[x_out[k]].revents & (POLLIN | POLLHUP | POLLERR)) && !relay_exec(e, e->out_r, WISP_G_EXEC_STDOUT)) { sc(SYS_close, e->out_r, 0, 0); e->out_r = -1; }
      if (x_err[k] >= 0 && (fds[x_err[k]].revents & (POLLIN | POLLHUP | POLLERR)) && !relay_exec(e, e->err_r, WISP_G_EXEC_STDERR)) { sc(SYS_close, e->err_r, 0, 0); e->err_r = -1; }
    }
    if (master >= 0 && child_in == master && stdin_len) { write_all(master, stdin_buf, stdin_len); stdin_len = 0; }
    if (i_in >= 0 && fds[i_in].revents) {
      long w = sc(SYS_write, child_in, stdin_buf, stdin_len);
      if (w > 0) { memmove(stdin_buf, stdin_buf + w, stdin_len - (size_t)w); stdin_len -= (size_t)w; }
      else if (w != -EAGAIN) { sc(SYS_close, child_in, 0, 0); child_in = -1; stdin_len = 0; }
    }
    if (stdin_eof && !stdin_len && child_in >= 0 && child_in != master) { sc(SYS_close, child_in, 0, 0); child_in = -1; }
    if (i_out >= 0 && (fds[i_out].revents & (POLLIN | POLLHUP | POLLERR)) && !relay(out_fd, WISP_G_STDOUT)) { sc(SYS_close, out_fd, 0, 0); out_fd = -1; }
    if (i_err >= 0 && (fds[i_err].revents & (POLLIN | POLLHUP | POLLERR)) && !relay(err_fd, WISP_G_STDERR)) { sc(SYS_close, err_fd, 0, 0); err_fd = -1; }
    if (fds[i_sig].revents) {
      static u8 si[128 * 4];
      while (sc(SYS_read, sfd, si, sizeof si) > 0) {}
      for (;;) {
        int st = 0;
        long w = sc6(SYS_wait4, -1, (long)&st, WNOHANG, 0, 0, 0);
        if (w <= 0) break;
        if (w == child_pid) {
          done = 1;
          if ((st & 0x7f) == 0) { how = 0; code = (st >> 8) & 0xff; } else { how = 1; code = st & 0x7f; }
        }
        for (int k = 0; k < MAX_EXECS; k++) {
          struct exec_ *e = &execs[k];
          if (!e->used || e->pid != w) continue;
          /* Its output first (what it wrote is in the pipes), then its status; the slot is free again. */
          while (e->out_r >= 0 && relay_exec(e, e->out_r, WISP_G_EXEC_STDOUT) == 1) {}
          while (e->err_r >= 0 && relay_exec(e, e->err_r, WISP_G_EXEC_STDERR) == 1) {}
          u8 x[2];
          if ((st & 0x7f) == 0) { x[0] = 0; x[1] = (u8)((st >> 8) & 0xff); } else { x[0] = 1; x[1] = (u8)(st & 0x7f); }
          exec_frame(WISP_G_EXEC_EXIT, e, x, 2);
          if (e->in_w >= 0) sc(SYS_close, e->in_w, 0, 0);
          if (e->out_r >= 0) sc(SYS_close, e->out_r, 0, 0);
          if (e->err_r >= 0) sc(SYS_close, e->err_r, 0, 0);
          e->used = 0;
        }
      }
    }
  }
  /* The process is gone: what it wrote is in the pipes (or the pty) already; send it, then the status. */
  while (out_fd >= 0 && relay(out_fd, WISP_G_STDOUT) == 1) {}
  while (err_fd >= 0 && relay(err_fd, WISP_G_STDERR) == 1) {}
  report_exit(how, code);
  sc(SYS_kill, -1, SIGKILL, 0);
  power_off();
}

__attribute__((naked, noreturn)) void _start(void) {
  asm volatile(
    ".option push\n.option norelax\nla gp, __global_pointer$\n.option pop\n"
    "andi sp, sp, -16\n"
    "call cmain_entry\n");
}
void cmain_entry(void) { cmain(); for (;;) {} }
