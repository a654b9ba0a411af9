/*
 * Experiment for docs/BENCHMARKS.md ("Service under load"), not part of the bot: an LD_PRELOAD
 * shim that sets TCP_NODELAY on every TCP socket a process connects. slack-morphism 2.31 opens
 * the Socket Mode websocket with Nagle's algorithm on (tokio-tungstenite's `connect_async`),
 * so an ack written while the previous one is unacknowledged waits for the next envelope or
 * the peer's delayed ACK; running the bot with this shim shows what turning Nagle off gains.
 *
 *   gcc -shared -fPIC -O2 -o /tmp/nodelay.so scripts/nodelay-preload.c -ldl
 *   LD_PRELOAD=/tmp/nodelay.so STANDUP_BOT_BIN=... cargo bench --bench load -- burst --mode socket
 *
 * (The load tool passes its environment to the bot; in Socket Mode the tool itself connects
 * nowhere, so only the bot's sockets change.)
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

int connect(int fd, const struct sockaddr *addr, socklen_t len) {
    static int (*real_connect)(int, const struct sockaddr *, socklen_t);
    if (!real_connect) {
        real_connect = (int (*)(int, const struct sockaddr *, socklen_t))dlsym(RTLD_NEXT, "connect");
    }
    if (addr && (addr->sa_family == AF_INET || addr->sa_family == AF_INET6)) {
        int one = 1;
        /* Best effort: a socket that refuses the option connects as before. */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    return real_connect(fd, addr, len);
}
