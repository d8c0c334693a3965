// Package broker is mqttx's MQTT 3.1, 3.1.1 and 5.0 broker engine: sessions,
// a topic tree with shared subscriptions, retained messages, QoS 0/1/2 in
// both directions, wills, expiry and flow control, on internal/packet.
//
// Use it as
//
//	s := broker.New(broker.Options{MaxKeepAlive: 300})
//	go s.Serve(ln) // any number of listeners: TCP, TLS, WebSocket adapters
//	...
//	s.Shutdown(ctx)
//
// # How it is built
//
// On Linux, a plain TCP listener is served by an event loop (loop_linux.go):
// one goroutine waits in epoll for the listener and for every connection
// that is new or quiet. It accepts, reads CONNECT, runs it and writes
// CONNACK, and keeps the connection in its epoll set while the client says
// nothing, so connecting costs no goroutine start or scheduler wake-up and
// an idle connection no stack. A connection with something to do (input, a
// write that would block, a takeover, a deadline) is handed over, with no
// dup, to an os.File on Go's netpoller, and from then on is served like
// any other. Options.NoEventLoop, other systems, TLS and WebSocket serve
// every connection as follows from the start.
//
// Each connection has one reader goroutine. It decodes packets into reused
// buffers (a pooled bufio.Reader it gives back while the client is quiet)
// and handles them. The path through CONNECT fits a new goroutine's
// initial stack (CONNACK is written from the goroutine's first frame), so
// the first goroutine waits for the next packet in place. After that, when
// the client goes quiet the reader hands the wait for its next input to a
// new goroutine and ends, because a stack grown while handling SUBSCRIBE
// or PUBLISH never shrinks back: an idle connection holds one small stack
// and no buffers. A PUBLISH is matched
// against the topic tree (read lock, no allocation per level), grouped per
// session (highest QoS, every subscription identifier) and encoded once per
// wire form (protocol, QoS, retain); every subscriber of that form shares the bytes and only its
// packet identifier and DUP flag are patched in while writing.
//
// Outbound packets go to the connection's bounded queue. A writer
// goroutine exists only while there is something to write: it drains the
// queue into one pooled buffer and flushes when the queue is empty, so a
// busy subscriber costs one system call for many messages. The reader
// writes its own replies (acknowledgements, SUBACK) after its input
// is drained, with one non-blocking write, and under light traffic a
// delivery is written at once the same way, so a lone message wakes no
// goroutine. On Unix the message path reads and writes plain TCP sockets
// with raw system calls, waiting on the netpoller through syscall.RawConn:
// a plain one after an idle spell wakes the runtime's monitor thread,
// which cost a quarter of the CPU per message at 1000 messages a second
// (trywrite_unix.go). A slow client
// never slows the publisher or other subscribers: the queue is bounded in
// packets (MaxOutboundQueue) and bytes (MaxOutboundBytes). QoS 0 messages
// beyond either bound are dropped, counted (DroppedMessages) and logged; a
// client has at most half of MaxOutboundQueue unacknowledged QoS 1/2
// messages and the rest wait in its session's bounded queue while the
// queue has no room, for at most SlowClientGrace before the client is
// disconnected (MQTT 5: 0x97). Retained messages for a new subscription
// wait in the session too and are streamed as the receive maximum and the
// queue's room allow, so none is lost however many match. A server
// DISCONNECT is followed by a half-close and a drain of at most a second
// (closeAfterDrain), so a client still writing reads the reason.
//
// Limits with safe defaults bound what a client can make the broker hold:
// MaxPacketSize (1 MiB), MaxTopicLevels and MaxTopicLength,
// MaxSubscriptions, and MaxConnectBytes for CONNECT packets being read
// across all connections, whose deadline counts from accept.
//
// Sessions hold subscriptions, both directions of QoS 1/2 state (the
// server's packet identifiers are independent of the client's), the
// ordered queue of messages waiting for the client's Receive Maximum or
// for a reconnect (bounded by MaxOfflineQueue; QoS 0 is not queued), a
// delayed will and the expiry timer. They live in a sessionStore; the
// memory one is the only implementation so far.
//
// Tests cite the normative statements of the specifications they check,
// e.g. TestRetained covers [MQTT-3.3.1-6], [MQTT-3.3.1-9] to [MQTT-3.3.1-12].
package broker
