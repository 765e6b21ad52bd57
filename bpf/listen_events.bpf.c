// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * sockscope's listen-event source: what the kernel does at each TCP listener, as it happens.
 *
 * Every program below sends one `struct listen_event` through the one ring buffer `events`,
 * naming the listener by its network namespace (inode) and socket cookie, with the client and
 * the queue lengths at that moment. User space (src/collect/host/listen_events.rs) aggregates
 * them per listener between samples. Which programs run is decided there at load time: the
 * accept wait is measured with fexit/inet_csk_accept where the kernel allows fentry/fexit, else
 * with the accept system calls (classic tracepoints when tracefs is mounted, else the raw
 * syscall tracepoints filtered to accept and accept4).
 *
 * Nothing here changes what the kernel does: the cgroup program always lets the packet pass.
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

/* Linux's syscall numbers on x86-64, for the raw syscall tracepoints. */
#define NR_ACCEPT 43
#define NR_ACCEPT4 288

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
	__u32 accept_queue;	/* sk_ack_backlog of the listener */
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

/* An established child socket (its address) -> CLOCK_BOOTTIME when its handshake completed. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, __u64);
} established_at SEC(".maps");

/* The syscall route: a thread in accept() (pid_tgid) -> the listener's file descriptor. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, __u32);
} accepting SEC(".maps");

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

/* The listener's namespace, bound address and queue lengths. */
static __always_inline void describe_listener(struct listen_event *e, struct sock *sk)
{
	struct inet_connection_sock *icsk = (struct inet_connection_sock *)sk;
	e->netns = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
	e->listener_family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (e->listener_family == AF_INET6)
		BPF_CORE_READ_INTO(&e->listener, sk, __sk_common.skc_v6_rcv_saddr);
	else
		BPF_CORE_READ_INTO((__be32 *)e->listener, sk, __sk_common.skc_rcv_saddr);
	e->accept_queue = BPF_CORE_READ(sk, sk_ack_backlog);
	e->accept_queue_max = BPF_CORE_READ(sk, sk_max_ack_backlog);
	e->syn_queue = BPF_CORE_READ(icsk, icsk_accept_queue.qlen.counter);
}

/* The client and local ends of a connection socket (a child or a request sock). */
static __always_inline void describe_connection(struct listen_event *e, struct sock_common *skc)
{
	e->packet_family = BPF_CORE_READ(skc, skc_family);
	if (e->packet_family == AF_INET6) {
		BPF_CORE_READ_INTO(&e->client, skc, skc_v6_daddr);
		BPF_CORE_READ_INTO(&e->local, skc, skc_v6_rcv_saddr);
	} else {
		BPF_CORE_READ_INTO((__be32 *)e->client, skc, skc_daddr);
		BPF_CORE_READ_INTO((__be32 *)e->local, skc, skc_rcv_saddr);
	}
	e->client_port = bpf_ntohs(BPF_CORE_READ(skc, skc_dport));
	e->local_port = BPF_CORE_READ(skc, skc_num);
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

/*
 * A SYN that arrives at a full listener. The kernel drops it (or answers with a SYN cookie) in
 * tcp_conn_request() without a tracepoint or a drop reason (the skb is consumed, not freed),
 * so the verdict is predicted here, at cgroup ingress, which runs in tcp_filter() just before:
 * the kernel's own tests, in its order —
 *   SYN queue full (qlen > max, or tcp_syncookies=2): a cookie when tcp_syncookies is on, else
 *   dropped (TCPReqQFullDrop); then accept queue full (ack_backlog > max): dropped
 *   (ListenOverflows), cookie or not.
 * A prediction, not the kernel's decision: the queues may move between here and there.
 * Always returns 1: the packet passes.
 */
SEC("cgroup_skb/ingress")
int on_syn(struct __sk_buff *skb)
{
	struct bpf_sock *bsk = skb->sk;
	struct tcphdr th;
	__u8 family;
	__u8 client[16] = {}, local[16] = {};

	if (!bsk)
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
		/* SYNs behind IPv6 extension headers are not classified. */
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
	if (!th.syn || th.ack || th.rst)
		return 1;

	struct tcp_sock *tp = bpf_skc_to_tcp_sock(bsk);
	if (!tp)
		return 1;
	struct sock *sk = (struct sock *)tp;
	if (sk->__sk_common.skc_state != TCP_LISTEN)
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

/* A child socket completed its handshake (SYN_RECV -> ESTABLISHED): it now waits in the accept
 * queue. Stamp it; the accept programs below take the stamp back. */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(on_state, struct sock *sk, int oldstate, int newstate)
{
	__u64 key = (__u64)sk;
	if (oldstate == TCP_SYN_RECV && newstate == TCP_ESTABLISHED) {
		__u64 now = bpf_ktime_get_boot_ns();
		bpf_map_update_elem(&established_at, &key, &now, BPF_ANY);
	} else if (newstate == TCP_CLOSE) {
		bpf_map_delete_elem(&established_at, &key);
	}
	return 0;
}

/* The child `child` left the accept queue of `listener`: one accept event with its wait. */
static __always_inline void accepted(struct sock *child, struct sock *listener, __u64 cookie)
{
	__u64 key = (__u64)child;
	__u64 *since = bpf_map_lookup_elem(&established_at, &key);
	if (!since)
		return;
	__u64 started = *since;
	bpf_map_delete_elem(&established_at, &key);
	struct listen_event *e = reserve();
	if (!e)
		return;
	e->kind = KIND_ACCEPTED;
	e->wait_ns = e->boottime_ns > started ? e->boottime_ns - started : 0;
	e->cookie = cookie;
	describe_listener(e, listener);
	describe_connection(e, (struct sock_common *)child);
	submit(e);
}

/* Accept waits where fentry/fexit are allowed: inet_csk_accept(listener, ...) returned the
 * child. bpf_get_func_ret reads the return value whatever the function's arity (it changed in
 * Linux 6.10). */
SEC("fexit/inet_csk_accept")
int BPF_PROG(on_accept_fexit, struct sock *sk)
{
	__u64 child = 0;
	if (bpf_get_func_ret(ctx, &child) || !child)
		return 0;
	accepted((struct sock *)child, sk, bpf_get_socket_cookie(sk));
	return 0;
}

/* The socket behind file descriptor `fd` of the current process, or NULL. */
static __always_inline struct sock *sock_of_fd(long fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	if (fd < 0 || fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	struct file **fds = BPF_CORE_READ(fdt, fd);
	struct file *file = NULL;
	if (bpf_probe_read_kernel(&file, sizeof(file), fds + fd) || !file)
		return NULL;
	struct socket *socket = BPF_CORE_READ(file, private_data);
	return socket ? BPF_CORE_READ(socket, sk) : NULL;
}

/* The syscall route, entry: remember which listener this thread accepts on. */
static __always_inline void accept_entered(long listener_fd)
{
	__u64 thread = bpf_get_current_pid_tgid();
	__u32 fd = listener_fd;
	bpf_map_update_elem(&accepting, &thread, &fd, BPF_ANY);
}

/* The syscall route, exit: accept() returned `fd`; the listener is the one entered with. The
 * cookie is the one the kernel already gave the listener (by sock_diag, or the programs above),
 * 0 when it has none yet; user space then names the listener by its address and port. */
static __always_inline void accept_returned(long fd)
{
	__u64 thread = bpf_get_current_pid_tgid();
	__u32 *listener_fd = bpf_map_lookup_elem(&accepting, &thread);
	if (!listener_fd)
		return;
	long lfd = *listener_fd;
	bpf_map_delete_elem(&accepting, &thread);
	if (fd < 0)
		return;
	struct sock *child = sock_of_fd(fd);
	struct sock *listener = sock_of_fd(lfd);
	if (!child || !listener)
		return;
	__u64 cookie = BPF_CORE_READ(listener, __sk_common.skc_cookie.counter);
	accepted(child, listener, cookie);
}

/* The syscall route through the classic tracepoints of accept and accept4 (tracefs mounted). */
SEC("tracepoint/syscalls/sys_enter_accept")
int on_enter_accept(struct trace_event_raw_sys_enter *ctx)
{
	accept_entered(ctx->args[0]);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_accept4")
int on_enter_accept4(struct trace_event_raw_sys_enter *ctx)
{
	accept_entered(ctx->args[0]);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept")
int on_exit_accept(struct trace_event_raw_sys_exit *ctx)
{
	accept_returned(ctx->ret);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int on_exit_accept4(struct trace_event_raw_sys_exit *ctx)
{
	accept_returned(ctx->ret);
	return 0;
}

/* The syscall route without tracefs: the raw syscall tracepoints, which every system call
 * passes; anything but accept and accept4 returns at the first test. */
SEC("tp_btf/sys_enter")
int BPF_PROG(on_sys_enter, struct pt_regs *regs, long id)
{
	if (id != NR_ACCEPT && id != NR_ACCEPT4)
		return 0;
	accept_entered(regs->di);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(on_sys_exit, struct pt_regs *regs, long ret)
{
	long id = regs->orig_ax;
	if (id != NR_ACCEPT && id != NR_ACCEPT4)
		return 0;
	accept_returned(ret);
	return 0;
}
