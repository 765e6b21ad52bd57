// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * sockscope's listen-event source: what the kernel does at each TCP listener, as it happens.
 *
 * Every program below sends one `struct listen_event` through the one ring buffer `events`,
 * naming the listener by its network namespace (inode) and socket cookie, with the client and
 * the queue lengths at that moment. User space (src/collect/host/listen_events.rs) aggregates
 * them per listener between samples. Which programs run is decided there at load time: the
 * accept wait runs from the final ACK at the listener (cgroup ingress) to fexit/inet_csk_accept
 * where the kernel allows fentry/fexit, else to the peer address that accept() hands back
 * (cgroup getpeername4/6), which runs only for accepts and getpeername() calls: no hook here
 * runs for every system call or every socket's state change.
 *
 * Nothing here changes what the kernel does: the cgroup programs always let the packet pass and
 * the call go on, the address untouched.
 *
 * Build: bpf/build (Debian 12's clang 14); the stripped object is committed beside this file.
 */
#include "kernel_types.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* What an event says happened (listen_event.kind). */
#define KIND_DROP 1		/* the connection was dropped; detail says why */
#define KIND_SYNCOOKIE 2	/* a SYN cookie was sent instead of queueing a request (predicted) */
#define KIND_SYNACK_RETRANSMIT 3 /* a SYN-ACK was retransmitted; retransmits is the attempt */
#define KIND_ACCEPTED 4		/* accept() returned the connection after wait_ns in the queue */

/* Why a connection was dropped (listen_event.detail for KIND_DROP). */
#define DROP_SYN_ACCEPT_QUEUE_FULL 1 /* SYN at a full accept queue (predicted) */
#define DROP_SYN_QUEUE_FULL 2	     /* SYN at a full SYN queue, no cookies (predicted) */
#define DROP_ACK_ACCEPT_QUEUE_FULL 3 /* final ACK at a full accept queue (observed) */

/*
 * One event. Addresses are in network order: IPv4 in the first 4 bytes, IPv6 in all 16
 * (an IPv4 client of a dual-stack listener arrives IPv4-mapped); ports in host order.
 * The layout is mirrored by `RawEvent` in src/collect/host/listen_events.rs.
 */
struct listen_event {
	__u64 boottime_ns;	/* CLOCK_BOOTTIME when it happened */
	__u64 wait_ns;		/* KIND_ACCEPTED: handshake completed -> accept() returned */
	__u64 cookie;		/* the listener's socket cookie; 0 when not known */
	__u32 netns;		/* the listener's network namespace (inode) */
	__u8 kind;
	__u8 detail;
	__u16 listener_family;	/* AF_INET or AF_INET6 */
	__u32 retransmits;	/* KIND_SYNACK_RETRANSMIT: the attempt */
	__u32 accept_queue;	/* sk_ack_backlog of the listener (KIND_ACCEPTED: as it joined) */
	__u32 accept_queue_max; /* sk_max_ack_backlog */
	__u32 syn_queue;	/* request sockets (icsk_accept_queue.qlen) */
	__u16 client_port;
	__u16 local_port;	/* the port the packet was sent to (the listener's) */
	__u16 packet_family;	/* AF_INET or AF_INET6: how client and local are spelt */
	__u16 pad;
	__u8 client[16];
	__u8 local[16];		/* the address the packet was sent to */
	__u8 listener[16];	/* the listener's bound address (zero for a wildcard) */
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} events SEC(".maps");

/* Events the ring buffer had no room for (index 0, per CPU): counted, never silent. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

/* A connection, as both its final ACK and its child socket name it: the namespace, then the
 * client and local ends (IPv4 in the first 4 bytes; an IPv4 client of a dual-stack listener in
 * IPv4 form too). */
struct connection {
	__u32 netns;
	__u16 client_port;
	__u16 local_port;
	__u8 client[16];
	__u8 local[16];
};

/* Where a connection waits: its listener, and when its handshake completed. */
struct queued {
	__u64 established_ns;	/* CLOCK_BOOTTIME when the final ACK reached the listener */
	__u64 cookie;		/* the listener's socket cookie */
	__u32 netns;
	__u16 listener_family;
	__u16 pad;
	__u32 accept_queue;	/* the listener's queues when the connection joined them */
	__u32 accept_queue_max;
	__u32 syn_queue;
	__u32 pad2;
	__u8 listener[16];
};

/*
 * Connections whose handshake completed -> where they wait, until accept() takes the entry back.
 * The cgroup program stamps a connection when its final ACK reaches the listener, just before
 * the kernel makes the child socket and queues it; a later ACK of the same connection at the
 * listener (the first was dropped at a full queue) stamps it again, so the stamp is the ACK that
 * made the child. Entries accept() never takes (the client gave up, the server accepts without
 * asking for the address) are the least recently used and go first when the map is full.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct connection);
	__type(value, struct queued);
} stamps SEC(".maps");

/* Bytes waiting in the ring buffer past which a submit wakes the reader. Below, it is not
 * woken: it drains the buffer every 50 ms on its own, so that a busy listener costs no wakeup
 * (a context switch) per connection. */
#define WAKE_AT (1 << 18)

/* Hands an event to user space, waking the reader only when the buffer fills up. */
static __always_inline void submit(struct listen_event *e)
{
	__u64 flags = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) > WAKE_AT ? BPF_RB_FORCE_WAKEUP
									       : BPF_RB_NO_WAKEUP;
	bpf_ringbuf_submit(e, flags);
}

/* A zeroed event in the ring buffer, or NULL (and one more loss counted) when it is full. */
static __always_inline struct listen_event *reserve(void)
{
	struct listen_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		__u32 zero = 0;
		__u64 *count = bpf_map_lookup_elem(&lost, &zero);
		if (count)
			*count += 1;
		return NULL;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->boottime_ns = bpf_ktime_get_boot_ns();
	return e;
}

/* The listener's namespace, bound address and queue lengths, wherever they are kept. `sk` is a
 * pointer the verifier knows the type of (BTF), so its fields are plain loads, not helper calls;
 * only the SYN queue, in the struct around it, is read with one. */
#define DESCRIBE_LISTENER(to, sk)                                                          \
	do {                                                                               \
		(to)->netns = (sk)->__sk_common.skc_net.net->ns.inum;                      \
		(to)->listener_family = (sk)->__sk_common.skc_family;                      \
		if ((to)->listener_family == AF_INET6)                                     \
			__builtin_memcpy(&(to)->listener,                                  \
					 &(sk)->__sk_common.skc_v6_rcv_saddr, 16);         \
		else                                                                       \
			*(__be32 *)(to)->listener = (sk)->__sk_common.skc_rcv_saddr;        \
		(to)->accept_queue = (sk)->sk_ack_backlog;                                 \
		(to)->accept_queue_max = (sk)->sk_max_ack_backlog;                         \
		(to)->syn_queue = BPF_CORE_READ((struct inet_connection_sock *)(sk),      \
						icsk_accept_queue.qlen.counter);           \
	} while (0)

static __always_inline void describe_listener(struct listen_event *e, struct sock *sk)
{
	DESCRIBE_LISTENER(e, sk);
}

/* The client and local ends of a connection socket (a child or a request sock). */
static __always_inline void describe_connection(struct listen_event *e, struct sock_common *skc)
{
	e->packet_family = skc->skc_family;
	if (e->packet_family == AF_INET6) {
		__builtin_memcpy(e->client, &skc->skc_v6_daddr, 16);
		__builtin_memcpy(e->local, &skc->skc_v6_rcv_saddr, 16);
	} else {
		*(__be32 *)e->client = skc->skc_daddr;
		*(__be32 *)e->local = skc->skc_rcv_saddr;
	}
	e->client_port = bpf_ntohs(skc->skc_dport);
	e->local_port = skc->skc_num;
}

/* The client and local ends of a received packet, from its IPv4 or IPv6 and TCP headers. */
static __always_inline void describe_packet(struct listen_event *e, struct sk_buff *skb)
{
	unsigned char *head = BPF_CORE_READ(skb, head);
	__u16 network = BPF_CORE_READ(skb, network_header);
	__u16 transport = BPF_CORE_READ(skb, transport_header);
	__u8 first;
	struct tcphdr th;

	if (bpf_probe_read_kernel(&first, 1, head + network))
		return;
	if ((first >> 4) == 4) {
		struct iphdr ip;
		if (bpf_probe_read_kernel(&ip, sizeof(ip), head + network))
			return;
		e->packet_family = AF_INET;
		__builtin_memcpy(e->client, &ip.saddr, 4);
		__builtin_memcpy(e->local, &ip.daddr, 4);
	} else if ((first >> 4) == 6) {
		struct ipv6hdr ip6;
		if (bpf_probe_read_kernel(&ip6, sizeof(ip6), head + network))
			return;
		e->packet_family = AF_INET6;
		__builtin_memcpy(e->client, &ip6.saddr, 16);
		__builtin_memcpy(e->local, &ip6.daddr, 16);
	} else {
		return;
	}
	if (bpf_probe_read_kernel(&th, sizeof(th), head + transport))
		return;
	e->client_port = bpf_ntohs(th.source);
	e->local_port = bpf_ntohs(th.dest);
}

/*
 * The final ACK of a handshake dropped because the accept queue was full (observed).
 * tcp_check_req() drops it with reason TCP_LISTEN_OVERFLOW (Linux 6.15+), and rx_sk (6.11+) is
 * the listener. The reason's value differs between kernels: it is read from the running
 * kernel's BTF; user space loads this program only where the reason exists.
 */
SEC("tp_btf/kfree_skb")
int BPF_PROG(on_kfree_skb, struct sk_buff *skb, void *location, enum skb_drop_reason reason,
	     struct sock *rx_sk)
{
	if (!bpf_core_enum_value_exists(enum skb_drop_reason, SKB_DROP_REASON_TCP_LISTEN_OVERFLOW))
		return 0;
	if (reason != bpf_core_enum_value(enum skb_drop_reason, SKB_DROP_REASON_TCP_LISTEN_OVERFLOW))
		return 0;
	if (!rx_sk)
		return 0;
	struct listen_event *e = reserve();
	if (!e)
		return 0;
	e->kind = KIND_DROP;
	e->detail = DROP_ACK_ACCEPT_QUEUE_FULL;
	e->cookie = bpf_get_socket_cookie(rx_sk);
	describe_listener(e, rx_sk);
	describe_packet(e, skb);
	submit(e);
	return 0;
}

/* The final ACK of a handshake reached listener `sk`: stamp the connection (see stamps). */
static __always_inline void stamp(struct __sk_buff *skb, struct sock *sk, __u8 *client, __u8 *local,
				  struct tcphdr *th)
{
	struct connection key = {};
	struct queued queued = {};
	DESCRIBE_LISTENER(&queued, sk);
	key.netns = queued.netns;
	key.client_port = bpf_ntohs(th->source);
	key.local_port = bpf_ntohs(th->dest);
	__builtin_memcpy(key.client, client, 16);
	__builtin_memcpy(key.local, local, 16);
	queued.cookie = bpf_get_socket_cookie(skb);
	queued.established_ns = bpf_ktime_get_boot_ns();
	bpf_map_update_elem(&stamps, &key, &queued, BPF_ANY);
}

/*
 * Packets that reach a listener: SYNs and the final ACKs of handshakes. Every other socket's
 * packets return at the first test.
 *
 * A SYN that arrives at a full listener: the kernel drops it (or answers with a SYN cookie) in
 * tcp_conn_request() without a tracepoint or a drop reason (the skb is consumed, not freed),
 * so the verdict is predicted here, at cgroup ingress, which runs in tcp_filter() just before:
 * the kernel's own tests, in its order —
 *   SYN queue full (qlen > max, or tcp_syncookies=2): a cookie when tcp_syncookies is on, else
 *   dropped (TCPReqQFullDrop); then accept queue full (ack_backlog > max): dropped
 *   (ListenOverflows), cookie or not.
 * A prediction, not the kernel's decision: the queues may move between here and there.
 *
 * A final ACK stamps its connection for the accept-wait programs.
 * Always returns 1: the packet passes.
 */
SEC("cgroup_skb/ingress")
int on_syn(struct __sk_buff *skb)
{
	struct bpf_sock *bsk = skb->sk;
	struct tcphdr th;
	__u8 family;
	__u8 client[16] = {}, local[16] = {};

	if (!bsk || bsk->state != TCP_LISTEN)
		return 1;
	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		struct iphdr ip;
		if (bpf_skb_load_bytes(skb, 0, &ip, sizeof(ip)) || ip.protocol != IPPROTO_TCP)
			return 1;
		if (bpf_skb_load_bytes(skb, ip.ihl * 4, &th, sizeof(th)))
			return 1;
		family = AF_INET;
		__builtin_memcpy(client, &ip.saddr, 4);
		__builtin_memcpy(local, &ip.daddr, 4);
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr ip6;
		/* Packets behind IPv6 extension headers are not classified. */
		if (bpf_skb_load_bytes(skb, 0, &ip6, sizeof(ip6)) || ip6.nexthdr != IPPROTO_TCP)
			return 1;
		if (bpf_skb_load_bytes(skb, sizeof(ip6), &th, sizeof(th)))
			return 1;
		family = AF_INET6;
		__builtin_memcpy(client, &ip6.saddr, 16);
		__builtin_memcpy(local, &ip6.daddr, 16);
	} else {
		return 1;
	}
	if (th.rst)
		return 1;

	struct tcp_sock *tp = bpf_skc_to_tcp_sock(bsk);
	if (!tp)
		return 1;
	struct sock *sk = (struct sock *)tp;
	if (!th.syn) {
		if (th.ack)
			stamp(skb, sk, client, local, &th);
		return 1;
	}
	if (th.ack)
		return 1;
	__u32 backlog = sk->sk_ack_backlog, max = sk->sk_max_ack_backlog;
	__u32 qlen = tp->inet_conn.icsk_accept_queue.qlen.counter;
	__u8 cookies = sk->__sk_common.skc_net.net->ipv4.sysctl_tcp_syncookies;

	__u8 kind = 0, detail = 0;
	if (cookies == 2 || qlen > max) {
		if (cookies)
			kind = KIND_SYNCOOKIE;
		else
			kind = KIND_DROP, detail = DROP_SYN_QUEUE_FULL;
	}
	if (kind != KIND_DROP && backlog > max)
		kind = KIND_DROP, detail = DROP_SYN_ACCEPT_QUEUE_FULL;
	if (!kind)
		return 1;

	struct listen_event *e = reserve();
	if (!e)
		return 1;
	e->kind = kind;
	e->detail = detail;
	e->cookie = bpf_get_socket_cookie(skb);
	describe_listener(e, sk);
	e->packet_family = family;
	__builtin_memcpy(e->client, client, 16);
	__builtin_memcpy(e->local, local, 16);
	e->client_port = bpf_ntohs(th.source);
	e->local_port = bpf_ntohs(th.dest);
	submit(e);
	return 1;
}

/* A SYN-ACK retransmitted: the handshake with this client is not completing (lost ACKs, a
 * spoofed source, or final ACKs the listener drops). */
SEC("tp_btf/tcp_retransmit_synack")
int BPF_PROG(on_synack_retransmit, struct sock *sk, struct request_sock *req)
{
	struct listen_event *e = reserve();
	if (!e)
		return 0;
	e->kind = KIND_SYNACK_RETRANSMIT;
	e->retransmits = BPF_CORE_READ(req, num_retrans);
	e->cookie = bpf_get_socket_cookie(sk);
	describe_listener(e, sk);
	describe_connection(e, &req->__req_common);
	submit(e);
	return 0;
}

/* Whether an IPv6 address is IPv4-mapped (::ffff:a.b.c.d). */
static __always_inline bool is_v4_mapped(const __u32 *words)
{
	return words[0] == 0 && words[1] == 0 && words[2] == bpf_htonl(0xffff);
}

/* The connection of child socket `sk`, spelt as its final ACK spelt it. */
static __always_inline void connection_of(struct connection *key, struct sock *sk)
{
	__u32 client[4], local[4];
	key->netns = sk->__sk_common.skc_net.net->ns.inum;
	key->client_port = bpf_ntohs(sk->__sk_common.skc_dport);
	key->local_port = sk->__sk_common.skc_num;
	__builtin_memcpy(client, &sk->__sk_common.skc_v6_daddr, 16);
	__builtin_memcpy(local, &sk->__sk_common.skc_v6_rcv_saddr, 16);
	if (sk->__sk_common.skc_family == AF_INET6 && !is_v4_mapped(client)) {
		__builtin_memcpy(key->client, client, 16);
		__builtin_memcpy(key->local, local, 16);
	} else {
		*(__be32 *)key->client = sk->__sk_common.skc_daddr;
		*(__be32 *)key->local = sk->__sk_common.skc_rcv_saddr;
	}
}

/* Child `child` left the accept queue: one accept event with its wait, when its connection was
 * stamped. The stamp names the listener and its queues as the connection joined them, on every
 * route alike. */
static __always_inline void accepted(struct sock *child)
{
	struct connection key = {};
	connection_of(&key, child);
	struct queued *stamp = bpf_map_lookup_elem(&stamps, &key);
	if (!stamp)
		return;
	struct queued copy = *stamp, *queued = &copy;
	bpf_map_delete_elem(&stamps, &key);
	__u64 since = queued->established_ns;
	struct listen_event *e = reserve();
	if (!e)
		return;
	e->kind = KIND_ACCEPTED;
	e->wait_ns = e->boottime_ns > since ? e->boottime_ns - since : 0;
	e->cookie = queued->cookie;
	e->netns = queued->netns;
	e->listener_family = queued->listener_family;
	__builtin_memcpy(e->listener, queued->listener, 16);
	e->accept_queue = queued->accept_queue;
	e->accept_queue_max = queued->accept_queue_max;
	e->syn_queue = queued->syn_queue;
	describe_connection(e, (struct sock_common *)child);
	submit(e);
}

/* Accept waits where fentry/fexit are allowed: inet_csk_accept(listener, ...) returned the
 * child. Its arguments changed in Linux 6.10 (sk, arg; before: sk, flags, err, kern), and the
 * child, the return value, comes after them: one program for each, and the loader keeps the
 * one the running kernel's BTF verifies. */
SEC("fexit/inet_csk_accept")
int BPF_PROG(on_accept_fexit, struct sock *sk, void *arg, struct sock *child)
{
	if (child)
		accepted(child);
	return 0;
}

SEC("fexit/inet_csk_accept")
int BPF_PROG(on_accept_fexit_old, struct sock *sk, int flags, int *err, bool kern, struct sock *child)
{
	if (child)
		accepted(child);
	return 0;
}

/*
 * Accept waits where fexit is refused: accept() that asks for the client's address (as nginx,
 * HAProxy, Redis, Go, Java, Python and Rust's std do) reads it through inet_getname(), which
 * runs these programs, right after the child left the queue. Only the first reading of a
 * connection counts, so a later getpeername() is not taken for an accept. Always returns 1:
 * the call goes on.
 */
static __always_inline int peer_read(struct bpf_sock_addr *ctx)
{
	struct bpf_sock *bsk = ctx->sk;
	if (!bsk)
		return 1;
	struct tcp_sock *tp = bpf_skc_to_tcp_sock(bsk);
	if (tp)
		accepted((struct sock *)tp);
	return 1;
}

SEC("cgroup/getpeername4")
int on_getpeername4(struct bpf_sock_addr *ctx)
{
	return peer_read(ctx);
}

SEC("cgroup/getpeername6")
int on_getpeername6(struct bpf_sock_addr *ctx)
{
	return peer_read(ctx);
}
