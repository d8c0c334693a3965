package broker

import (
	"cmp"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mqttx/mqttx/internal/broker/store"
)

// expiryNever is a session expiry interval that never ends (MQTT 3 clean
// session 0, or MQTT 5 0xFFFFFFFF).
const expiryNever = math.MaxUint32

// Inflight states of an outbound QoS 1/2 message, as the store keeps them.
const (
	stateSent    = store.StateSent
	stateRelSent = store.StateRelSent
)

type inflight struct {
	d     delivery
	seq   uint64
	state byte
}

// session is the state that outlives a network connection: subscriptions,
// both directions of QoS 1/2 flows, the ordered queue of messages not yet
// sent and a delayed will.
type session struct {
	id   string
	srv  *Server
	user string // the username that created it (see ownedByOther)

	mu     sync.Mutex
	conn   *conn // current connection, nil when offline
	online atomicBool
	ended  bool
	stored bool   // on the durable store (see persist.go)
	expiry uint32 // seconds after disconnect; expiryNever for never

	subs map[string]*subscription // by filter as subscribed

	// Outbound QoS 1/2: packet identifiers are ours alone, independent of
	// the identifiers the client uses for its own packets.
	nextPID  uint16
	inflight map[uint16]inflight
	// seq numbers sends, and messages queued on the store (delivery.seq).
	seq      uint64
	pending  []delivery // in publish order; waits for receive maximum or a connection
	pendHead int

	// Retained messages for new subscriptions, streamed as flow control
	// allows (streamRetainedLocked).
	ret *retStream

	// Inbound QoS 2 packet identifiers between PUBLISH and PUBREL.
	qos2in map[uint16]struct{}

	// Counters for $SYS (see sys.go): received by the reader, sent under mu.
	received atomic.Uint64
	sent     uint64

	// Access decisions kept (see authorize.go).
	readCache, pubCache *aclCache

	// Answers to the client's PUBLISH and PUBREL waiting for the store
	// (see persist.go); nil without one.
	acks atomic.Pointer[ackQueue]

	// Delayed will and expiry while offline.
	will      *message
	willTimer *time.Timer
	expTimer  *time.Timer
}

// retStream is the retained messages of new subscriptions not sent yet.
type retStream struct {
	q    []delivery
	head int
}

// retWaiting reports whether retained messages wait to be streamed.
func (s *session) retWaiting() bool { return s.ret != nil && s.ret.head < len(s.ret.q) }

type atomicBool struct{ v atomic.Bool }

func newSession(srv *Server, id string) *session {
	// Maps are made on first use: most sessions of idle clients never
	// need inflight or QoS 2 state.
	return &session{id: id, srv: srv}
}

func (s *session) isOnline() bool { return s.online.v.Load() }

// pendingLen returns the number of queued deliveries.
func (s *session) pendingLen() int { return len(s.pending) - s.pendHead }

func (s *session) pushPending(d delivery) {
	if s.pendHead > 0 && s.pendHead == len(s.pending) {
		clear(s.pending)
		s.pending = s.pending[:0]
		s.pendHead = 0
	}
	s.pending, s.pendHead = compactFront(s.pending, s.pendHead)
	s.pending = append(s.pending, d)
}

// compactFront moves what is left of q, a queue read from the front up to
// head, to the start of its array once more than half of a long queue has
// been read: a queue that never empties under steady load would otherwise
// grow without end. It returns the queue and its new head.
func compactFront[T any](q []T, head int) ([]T, int) {
	if head > 1024 && head*2 > len(q) {
		n := copy(q, q[head:])
		clear(q[n:])
		return q[:n], 0
	}
	return q, head
}

func (s *session) popPending() (delivery, bool) {
	if s.pendHead >= len(s.pending) {
		return delivery{}, false
	}
	d := s.pending[s.pendHead]
	s.pending[s.pendHead] = delivery{}
	s.pendHead++
	return d, true
}

// dropStaleLocked drops the queued messages older than MaxOfflineAge at now,
// counts them as dropped and returns how many there were. The queue is in
// the order messages entered it, so they are at its head; the caller holds
// mu.
func (s *session) dropStaleLocked(now int64) int {
	age := int64(s.srv.opts.MaxOfflineAge)
	if age <= 0 {
		return 0
	}
	n := 0
	for s.pendHead < len(s.pending) && now-s.pending[s.pendHead].queued > age {
		d, _ := s.popPending()
		s.recordDoneLocked(&d)
		n++
	}
	if n > 0 {
		s.srv.dropped.Add(uint64(n))
	}
	return n
}

// allocPID returns a free outbound packet identifier; the caller holds mu
// and has checked that fewer than 65535 are in flight.
func (s *session) allocPID() uint16 {
	for {
		s.nextPID++
		if s.nextPID == 0 {
			s.nextPID = 1
		}
		if _, used := s.inflight[s.nextPID]; !used {
			return s.nextPID
		}
	}
}

// sortedInflight returns the inflight packet identifiers in send order.
func (s *session) sortedInflight() []uint16 {
	ids := make([]uint16, 0, len(s.inflight))
	for id := range s.inflight {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b uint16) int { return cmp.Compare(s.inflight[a].seq, s.inflight[b].seq) })
	return ids
}

func (s *session) stopTimers() {
	if s.willTimer != nil {
		s.willTimer.Stop()
		s.willTimer = nil
	}
	if s.expTimer != nil {
		s.expTimer.Stop()
		s.expTimer = nil
	}
}
