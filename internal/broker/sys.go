package broker

import (
	"strconv"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/mqttx/mqttx/internal/packet"
)

// $SYS topics, as mosquitto names them. The counters cost nothing on the
// message paths that the engine does not already pay: each session counts
// its own messages (received by its one reader, sent under its lock), and
// the totals are summed over the sessions once per interval; a session
// that ends adds its counts to the server's. Bytes are counted per packet
// read and per write, in counters spread over cache lines (byteShard).

// sysCounters are the server-wide counts of sessions that ended, and the
// bytes of every packet read and written.
type sysCounters struct {
	start    time.Time
	received atomic.Uint64
	sent     atomic.Uint64
	bytes    [byteShards]byteShard
}

// byteShards spreads the byte counters over cache lines: a connection adds
// to the shard its address picks, so connections served on different cores
// seldom write to the same line, and nothing needs adding up when one ends.
const byteShards = 32

type byteShard struct {
	in, out atomic.Uint64
	_       [48]byte // one cache line each
}

func (c *conn) byteShard() *byteShard {
	return &c.srv.sys.bytes[uintptr(unsafe.Pointer(c))>>9%byteShards]
}

// countIn counts a packet of n bytes read from c.
func (c *conn) countIn(n int) { c.byteShard().in.Add(uint64(n)) }

// countOut counts n bytes written to c.
func (c *conn) countOut(n int) {
	if n > 0 {
		c.byteShard().out.Add(uint64(n))
	}
}

// SysStats is one reading of the broker's counters.
type SysStats struct {
	Uptime           time.Duration
	ClientsConnected int
	// ClientsDisconnected counts persistent sessions waiting for their client.
	ClientsDisconnected int
	MessagesReceived    uint64 // PUBLISH packets from clients
	MessagesSent        uint64 // PUBLISH packets to clients
	BytesReceived       uint64 // bytes of every packet from clients
	BytesSent           uint64 // bytes written to clients
	MessagesDropped     uint64 // see Server.DroppedMessages
	Retained            int
	Subscriptions       int
}

// Stats sums the broker's counters.
func (s *Server) Stats() SysStats {
	st := SysStats{
		Uptime:           time.Since(s.sys.start),
		MessagesReceived: s.sys.received.Load(),
		MessagesSent:     s.sys.sent.Load(),
		MessagesDropped:  s.dropped.Load(),
	}
	for i := range s.sys.bytes {
		st.BytesReceived += s.sys.bytes[i].in.Load()
		st.BytesSent += s.sys.bytes[i].out.Load()
	}
	s.sessions.Range(func(x *session) bool {
		st.MessagesReceived += x.received.Load()
		x.mu.Lock()
		if !x.ended {
			if x.conn != nil {
				st.ClientsConnected++
			} else {
				st.ClientsDisconnected++
			}
			st.Subscriptions += len(x.subs)
			st.MessagesSent += x.sent
		}
		x.mu.Unlock()
		return true
	})
	s.retained.mu.RLock()
	st.Retained = len(s.retained.msgs)
	s.retained.mu.RUnlock()
	return st
}

// foldCounts adds an ending session's counts to the server's; the caller
// holds x.mu.
func (s *Server) foldCounts(x *session) {
	s.sys.received.Add(x.received.Swap(0))
	s.sys.sent.Add(x.sent)
	x.sent = 0
}

// Publish sends a message from the broker itself (no client): routed like a
// client's, read access checked on delivery, stored when retain is set.
func (s *Server) Publish(topic string, payload []byte, qos byte, retain bool) error {
	if !packet.ValidTopicName(topic) || qos > 2 {
		return errInvalidPublish
	}
	m := &message{topic: topic, payload: append([]byte{}, payload...), qos: qos, retain: retain}
	if retain {
		s.retained.set(m)
	}
	s.route(m)
	return nil
}

type brokerError string

func (e brokerError) Error() string { return string(e) }

const errInvalidPublish = brokerError("broker: publish: invalid topic name or QoS")

// publishSys publishes the $SYS/broker topics, retained, as mosquitto does.
func (s *Server) publishSys() {
	st := s.Stats()
	u := strconv.FormatUint
	for _, t := range [...]struct{ topic, value string }{
		{"$SYS/broker/version", "mqttx " + s.opts.Version},
		{"$SYS/broker/uptime", strconv.FormatInt(int64(st.Uptime/time.Second), 10) + " seconds"},
		{"$SYS/broker/clients/connected", strconv.Itoa(st.ClientsConnected)},
		{"$SYS/broker/clients/disconnected", strconv.Itoa(st.ClientsDisconnected)},
		{"$SYS/broker/clients/total", strconv.Itoa(st.ClientsConnected + st.ClientsDisconnected)},
		{"$SYS/broker/messages/received", u(st.MessagesReceived, 10)},
		{"$SYS/broker/messages/sent", u(st.MessagesSent, 10)},
		{"$SYS/broker/publish/messages/received", u(st.MessagesReceived, 10)},
		{"$SYS/broker/publish/messages/sent", u(st.MessagesSent, 10)},
		{"$SYS/broker/publish/messages/dropped", u(st.MessagesDropped, 10)},
		{"$SYS/broker/bytes/received", u(st.BytesReceived, 10)},
		{"$SYS/broker/bytes/sent", u(st.BytesSent, 10)},
		{"$SYS/broker/retained messages/count", strconv.Itoa(st.Retained)},
		{"$SYS/broker/subscriptions/count", strconv.Itoa(st.Subscriptions)},
	} {
		s.Publish(t.topic, []byte(t.value), 0, true)
	}
}

// runSys publishes $SYS every Options.SysInterval until Shutdown.
func (s *Server) runSys() {
	defer s.wg.Done()
	t := time.NewTicker(s.opts.SysInterval)
	defer t.Stop()
	s.publishSys()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
			s.publishSys()
		}
	}
}
