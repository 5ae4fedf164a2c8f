/*
 * The wire protocol between wisp (the host) and its container init, over the guest's first serial
 * port in raw mode. Every message is a frame: MAGIC0 MAGIC1 TYPE LEN_LO LEN_HI, then LEN bytes.
 * The host side is src/runtime/container-protocol.ts; a test holds the two lists of numbers equal.
 */
#define WISP_MAGIC0 0xd7
#define WISP_MAGIC1 0x77
#define WISP_MAX_PAYLOAD 4096
#define WISP_PROTOCOL_VERSION 1

/* guest -> host */
#define WISP_G_READY 1    /* [version]: init is up and reads frames */
#define WISP_G_STDOUT 2   /* bytes */
#define WISP_G_STDERR 3   /* bytes */
#define WISP_G_EXIT 4     /* [how, code]: how 0 = exited with code, 1 = killed by signal code */
#define WISP_G_ERROR 5    /* text: why the process could not be started (an EXIT follows) */
#define WISP_G_CREATED 6  /* the container is set up and waits for START */
#define WISP_G_STARTED 7  /* u32 LE: the process's pid in the guest */
/* More processes in the running container (runc exec): each frame's payload starts with its id. */
#define WISP_G_EXEC_STARTED 8  /* [id, pid u32 LE] */
#define WISP_G_EXEC_STDOUT 9   /* [id, bytes] */
#define WISP_G_EXEC_STDERR 10  /* [id, bytes] */
#define WISP_G_EXEC_EXIT 11    /* [id, how, code], after its last output (how as in EXIT) */
#define WISP_G_EXEC_ERROR 12   /* [id, text]: why it could not be started (an EXEC_EXIT follows) */

/* host -> guest */
#define WISP_H_CONFIG 0x41     /* a piece of the config records (see below) */
#define WISP_H_CONFIG_END 0x42 /* the config is complete */
#define WISP_H_STDIN 0x43      /* bytes for the process's stdin */
#define WISP_H_STDIN_EOF 0x44  /* stdin is closed */
#define WISP_H_SIGNAL 0x45     /* [signo] to the process, [signo, 1] to all of the container's */
#define WISP_H_WINSIZE 0x46    /* rows u16 LE, cols u16 LE */
#define WISP_H_START 0x47      /* run the process (after CREATED) */
#define WISP_H_EXEC_CONFIG 0x48    /* [id, a piece of its config records: ARG ENV CWD USER GROUP UMASK STDIN] */
#define WISP_H_EXEC_START 0x49     /* [id]: its config is complete; run it (once the container's process runs) */
#define WISP_H_EXEC_STDIN 0x4a     /* [id, bytes] */
#define WISP_H_EXEC_STDIN_EOF 0x4b /* [id] */
#define WISP_H_EXEC_SIGNAL 0x4c    /* [id, signo] */

/* config records: TAG, LEN u32 LE, LEN bytes */
#define WISP_C_ARG 1        /* argv, in order */
#define WISP_C_ENV 2        /* KEY=VALUE */
#define WISP_C_CWD 3
#define WISP_C_USER 4       /* "user[:group]", names or numbers, resolved in the container's /etc */
#define WISP_C_HOSTNAME 5
#define WISP_C_TTY 6        /* the process gets a terminal */
#define WISP_C_STDIN 7      /* the process's stdin is open (else /dev/null) */
#define WISP_C_WAIT_START 8 /* set up, say CREATED, wait for START */
#define WISP_C_READONLY 9   /* the root is mounted read-only (no overlay) */
#define WISP_C_MOUNT 10     /* "type\0source\0target\0options": an extra mount inside the root (options as mount(8)) */
#define WISP_C_GROUP 11     /* an additional group id (number) */
#define WISP_C_UMASK 12     /* octal text */
#define WISP_C_NET 13       /* "IFNAME ADDR PREFIXLEN GATEWAY": give the interface an address and a default route */
#define WISP_C_RESOLV 14    /* the container's /etc/resolv.conf */
