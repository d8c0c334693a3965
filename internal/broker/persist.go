package broker

import (
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mqttx/mqttx/internal/broker/store"
	"github.com/mqttx/mqttx/internal/packet"
)

// The engine's state is kept in memory; a durable Options.Store receives
// every change of it that must survive a restart (see package store):
//
//   - a session whose expiry is not 0 (it outlives its connection) is on
//     the store (session.stored) with its subscriptions, every QoS 1/2
//     message queued for it or in flight to it (numbered in queue order by
//     session.seq, delivery.seq), the packet identifier and state of
//     those sent, and the client's QoS 2 identifiers until PUBREL;
//   - retained messages (but the broker's own $SYS ones) and delayed wills.
//
// Whatever acknowledges something to a client waits for the commit of the
// events before it (store.Sync): PUBACK, PUBREC and PUBCOMP to a
// publisher and PUBREL to a subscriber go out from the store's Sync
// callback; SUBACK and UNSUBACK wait on their reader (waitCommitted). A
// session's CONNACK does not wait: a session lost with a crash right after
// it is reported as not present. A memory store keeps nothing
// and the engine reports nothing to it: srv.persist is false.

// record adds ev to the store.
func (s *Server) record(ev store.Event) { s.store.Add(ev) }

// replyPub answers a PUBLISH or PUBREL of the client (PUBACK, PUBREC,
// PUBCOMP, PUBREL) once what it changed is committed. Every such answer
// waits in its session's ackQueue, so they keep the order of the packets
// they answer.
func (c *conn) replyPub(it outItem) {
	if !c.srv.persist {
		c.reply(it)
		return
	}
	c.afterCommit(c.newPubAck(it))
}

// pubAck is an answer waiting in an ackQueue until it is safe to send.
type pubAck struct {
	q   *ackQueue
	c   *conn // nil once sent
	srv *Server
	it  outItem
	// waiting counts, for a QoS 1 PUBLISH that is not retained, the
	// deliveries to stored sessions not acknowledged yet, plus one while
	// it is routed. At 0 the message needs the store no more: every
	// stored session it was queued for has it, so its PUBACK may go
	// before the commit (for a connected subscriber that acknowledges at
	// once, the usual case, it then waits for no disk at all).
	waiting atomic.Int32
	safe    atomic.Bool
}

// ackQueue is a session's answers waiting for the store, in the order of
// the packets they answer.
type ackQueue struct {
	mu   sync.Mutex
	q    []*pubAck
	head int
}

// newPubAck queues it behind the answers of c's session waiting already.
func (c *conn) newPubAck(it outItem) *pubAck {
	x := c.sess
	q := x.acks.Load()
	if q == nil {
		x.acks.CompareAndSwap(nil, new(ackQueue))
		q = x.acks.Load()
	}
	a := &pubAck{q: q, c: c, srv: c.srv, it: it}
	q.mu.Lock()
	q.q, q.head = compactFront(q.q, q.head)
	q.q = append(q.q, a)
	q.mu.Unlock()
	return a
}

// afterCommit releases a once what was recorded so far is committed. Until
// then it counts as the connection's work: the writer it may start must be
// counted before Shutdown's wait can end.
func (c *conn) afterCommit(a *pubAck) {
	c.srv.wg.Add(1)
	c.srv.store.Sync(a)
}

// Committed releases a once what was recorded before it is committed (see
// afterCommit): a is its own callback, so waiting for a commit costs no
// closure per message.
func (a *pubAck) Committed() {
	a.release()
	a.srv.wg.Done()
}

// release marks a safe to send, and sends the answers at the head of its
// queue that are.
func (a *pubAck) release() {
	if !a.safe.CompareAndSwap(false, true) {
		return
	}
	q := a.q
	q.mu.Lock()
	for q.head < len(q.q) && q.q[q.head].safe.Load() {
		b := q.q[q.head]
		q.q[q.head] = nil
		q.head++
		b.c.enqueue(b.it)
		b.c = nil
	}
	if q.head == len(q.q) {
		q.q = q.q[:0]
		q.head = 0
	}
	q.mu.Unlock()
}

// waitCommitted waits until what the client's SUBSCRIBE or UNSUBSCRIBE
// changed in a stored session is committed, so SUBACK and UNSUBACK (and
// the retained messages after SUBACK) keep their order and promise. These
// are rare enough for their reader to wait for one commit.
func (c *conn) waitCommitted() {
	if !c.srv.persist {
		return
	}
	x := c.sess
	x.mu.Lock()
	stored := x.stored
	x.mu.Unlock()
	if stored {
		c.srv.flushStore()
	}
}

// storeSessionLocked records x as it is now: on the store while its expiry
// is not 0, off it otherwise. A session that comes onto the store is
// written whole. disconnected is when its connection ended, 0 while
// connected. The caller holds x.mu.
func (x *session) storeSessionLocked(version packet.Version, disconnected int64) {
	s := x.srv
	if !s.persist || x.ended {
		return
	}
	if x.expiry == 0 {
		if x.stored {
			x.stored = false
			s.record(store.Event{Kind: store.SessionDel, Client: x.id})
		}
		return
	}
	s.record(store.Event{Kind: store.SessionPut, Client: x.id, Session: &store.Session{
		User: x.user, Expiry: x.expiry, Version: byte(version), DisconnectedAt: disconnected,
	}})
	if x.stored {
		return
	}
	x.stored = true
	for _, sub := range x.subs {
		x.recordSubLocked(sub)
	}
	for _, pid := range x.sortedInflight() {
		e := x.inflight[pid]
		x.assignSeqLocked(&e.d)
		x.inflight[pid] = e
		s.record(store.Event{Kind: store.InflightPut, Client: x.id, Seq: e.d.seq, PID: pid, State: e.state})
	}
	for i := x.pendHead; i < len(x.pending); i++ {
		x.assignSeqLocked(&x.pending[i])
	}
	for pid := range x.qos2in {
		s.record(store.Event{Kind: store.Qos2InPut, Client: x.id, PID: pid})
	}
}

// endStoredLocked removes an ending session from the store.
func (x *session) endStoredLocked() {
	if x.stored {
		x.stored = false
		x.srv.record(store.Event{Kind: store.SessionDel, Client: x.id})
	}
}

func (x *session) recordSubLocked(sub *subscription) {
	if !x.stored {
		return
	}
	x.srv.record(store.Event{Kind: store.SubPut, Client: x.id, Sub: &store.Subscription{
		Filter: sub.filter, QoS: sub.qos, NoLocal: sub.noLocal, RetainAsPub: sub.retainAsPub,
		RetainHandling: sub.retainHandl, ID: sub.id,
	}})
}

func (x *session) recordUnsubLocked(filter string) {
	if x.stored {
		x.srv.record(store.Event{Kind: store.SubDel, Client: x.id, Topic: filter})
	}
}

// assignSeqLocked numbers a QoS 1/2 delivery to a stored session and
// records the message, unless it has a number already.
func (x *session) assignSeqLocked(d *delivery) { x.queueLocked(d, 0) }

// queueLocked is assignSeqLocked for a delivery sent at once with packet
// identifier pid (not 0), recorded in the same event.
func (x *session) queueLocked(d *delivery, pid uint16) {
	if !x.stored || d.seq != 0 || d.qos == 0 {
		return
	}
	x.seq++
	d.seq = x.seq
	if a := d.msg.ack; a != nil {
		a.waiting.Add(1)
	}
	at := d.queued
	if at == 0 {
		at = time.Now().UnixNano()
	}
	x.srv.record(store.Event{
		Kind: store.MsgPut, Client: x.id, Seq: d.seq, Msg: d.msg, PID: pid, State: stateSent,
		QoS: d.qos, Retain: d.retain, SubIDs: d.subIDs, At: at,
	})
}

// recordSentLocked records the packet identifier and state of a delivery
// sent or acknowledged halfway (PUBREC).
func (x *session) recordSentLocked(d *delivery, pid uint16, state byte) {
	if x.stored && d.seq != 0 {
		x.srv.record(store.Event{Kind: store.InflightPut, Client: x.id, Seq: d.seq, PID: pid, State: state})
	}
}

// recordDoneLocked removes a delivery acknowledged, expired or dropped.
func (x *session) recordDoneLocked(d *delivery) {
	if x.stored && d.seq != 0 {
		x.srv.record(store.Event{Kind: store.MsgDel, Client: x.id, Seq: d.seq})
		if a := d.msg.ack; a != nil && a.waiting.Add(-1) == 0 {
			a.release()
		}
	}
}

func (x *session) recordQos2InLocked(pid uint16, held bool) {
	if !x.stored {
		return
	}
	k := store.Qos2InDel
	if held {
		k = store.Qos2InPut
	}
	x.srv.record(store.Event{Kind: k, Client: x.id, PID: pid})
}

// recordWillLocked records x's delayed will w, published at at, or its
// clearing (w nil).
func (x *session) recordWillLocked(w *message, at int64) {
	if !x.stored {
		return
	}
	if w == nil {
		x.srv.record(store.Event{Kind: store.WillDel, Client: x.id})
		return
	}
	m := storedMessage(w)
	m.EnqueuedAt = at
	x.srv.record(store.Event{Kind: store.WillPut, Client: x.id, Msg: m})
}

// recordRetained records the retained message of m's topic being set (or
// cleared by an empty payload). The broker's own $SYS messages are
// published again at start, so not kept.
func (s *Server) recordRetained(m *message) {
	if !s.persist || strings.HasPrefix(m.topic, "$SYS/") {
		return
	}
	if len(m.payload) == 0 {
		s.record(store.Event{Kind: store.RetainedDel, Topic: m.topic})
		return
	}
	s.record(store.Event{Kind: store.RetainedPut, Msg: m})
}

// storedMessage is m as the store keeps it.
func storedMessage(m *message) *store.Message {
	return &store.Message{
		Topic: m.topic, Payload: m.payload, QoS: m.qos, Retain: m.retain, Origin: m.origin,
		ExpiresAt: m.expiresAt, Props: m.storedProps(),
	}
}

// storedProps returns m's forwarded properties as the store keeps them.
func (m *message) storedProps() packet.Properties {
	if m.props == nil {
		return packet.Properties{}
	}
	return *m.props
}

// StoreMessage makes m a store.Source: the store builds its form of a
// message only when it writes it, on its own goroutine (m does not change
// once routed).
func (m *message) StoreMessage() *store.Message { return storedMessage(m) }

func loadedMessage(sm *store.Message) *message {
	return &message{
		topic: sm.Topic, payload: sm.Payload, qos: sm.QoS, retain: sm.Retain, origin: sm.Origin,
		expiresAt: sm.ExpiresAt, props: propsOf(sm.Props),
	}
}

// flushStore waits until everything recorded is committed.
func (s *Server) flushStore() {
	if !s.persist {
		return
	}
	done := make(chan struct{})
	s.store.Sync(store.Func(func() { close(done) }))
	<-done
}

// restore rebuilds the sessions and retained messages the store holds.
// Sessions whose expiry passed while the broker was down end now; the
// others count on from their disconnection.
func (s *Server) restore() error {
	st, err := s.store.Load()
	if err != nil {
		return err
	}
	for _, m := range st.Retained {
		s.retained.set(loadedMessage(m))
	}
	now := time.Now()
	for i := range st.Sessions {
		ss := &st.Sessions[i]
		x := newSession(s, ss.Client)
		x.user = ss.Session.User
		x.expiry = ss.Session.Expiry
		x.stored = true
		for _, sub := range ss.Subs {
			group, _ := splitShared(sub.Filter)
			sb := &subscription{
				sess: x, filter: sub.Filter, group: group, qos: sub.QoS, noLocal: sub.NoLocal,
				retainAsPub: sub.RetainAsPub, retainHandl: sub.RetainHandling, id: sub.ID,
			}
			if x.subs == nil {
				x.subs = make(map[string]*subscription)
			}
			x.subs[sub.Filter] = sb
			s.tree.add(sb)
		}
		slices.SortFunc(ss.Queue, func(a, b store.QueuedMessage) int {
			switch {
			case a.Seq < b.Seq:
				return -1
			case a.Seq > b.Seq:
				return 1
			}
			return 0
		})
		for _, q := range ss.Queue {
			d := delivery{msg: loadedMessage(q.Msg), qos: q.Msg.QoS, retain: q.Msg.Retain, subIDs: q.Msg.SubIDs, seq: q.Seq, queued: q.Msg.EnqueuedAt}
			x.seq = max(x.seq, q.Seq)
			if q.Inflight {
				if x.inflight == nil {
					x.inflight = make(map[uint16]inflight)
				}
				x.inflight[q.PID] = inflight{d: d, seq: q.Seq, state: q.State}
				x.nextPID = q.PID
				continue
			}
			if x.pendingLen() >= s.opts.MaxOfflineQueue {
				// A smaller --max-offline-messages than the last run's
				// holds: the newest are dropped, as they would have been.
				s.record(store.Event{Kind: store.MsgDel, Client: x.id, Seq: q.Seq})
				continue
			}
			x.pushPending(d)
		}
		for _, pid := range ss.Qos2In {
			if x.qos2in == nil {
				x.qos2in = make(map[uint16]struct{})
			}
			x.qos2in[pid] = struct{}{}
		}
		s.sessions.Put(x)
		x.mu.Lock()
		if ss.Will != nil {
			x.will = loadedMessage(ss.Will)
			s.willLaterLocked(x, x.will, time.Duration(ss.Will.EnqueuedAt-now.UnixNano()))
		}
		if x.expiry != expiryNever {
			at := ss.Session.DisconnectedAt
			if at == 0 {
				// Connected when the broker stopped: it counts from now.
				at = now.UnixNano()
			}
			s.expireLaterLocked(x, time.Duration(at+int64(x.expiry)*int64(time.Second)-now.UnixNano()))
		}
		x.mu.Unlock()
	}
	return nil
}

// willLaterLocked publishes the delayed will w of offline session x after
// d, unless it is cleared meanwhile; the caller holds x.mu.
func (s *Server) willLaterLocked(x *session, w *message, d time.Duration) {
	x.willTimer = time.AfterFunc(max(d, 0), func() {
		x.mu.Lock()
		if x.will != w {
			x.mu.Unlock()
			return
		}
		x.will = nil
		x.recordWillLocked(nil, 0)
		x.mu.Unlock()
		s.publishWill(w, x.id)
	})
}

// expireLaterLocked ends offline session x after d unless a connection
// resumes it; the caller holds x.mu.
func (s *Server) expireLaterLocked(x *session, d time.Duration) {
	x.expTimer = time.AfterFunc(max(d, 0), func() {
		x.mu.Lock()
		if x.conn != nil || x.ended {
			x.mu.Unlock()
			return
		}
		w := x.will
		x.will = nil
		s.endSessionLocked(x)
		x.mu.Unlock()
		if w != nil {
			s.publishWill(w, x.id)
		}
	})
}

// routeDurable routes a QoS 1 message that is not retained and answers
// with ack once the message is committed or every stored session it was
// queued for has acknowledged it, whichever comes first.
func (c *conn) routeDurable(m *message, ack outItem) {
	a := c.newPubAck(ack)
	a.waiting.Store(1)
	m.ack = a
	c.srv.routeAt(m, c.now)
	c.afterCommit(a)
	if a.waiting.Add(-1) == 0 {
		a.release()
	}
}

// routeQoS2 records the client's QoS 2 packet identifier, the message's
// queue entries and its retained change as one: a crash between them would
// either lose the message (identifier kept, so the PUBLISH sent again is
// taken for a duplicate) or deliver it twice (the other way round). PUBREC
// goes once they are committed.
func (c *conn) routeQoS2(m *message, pid uint16) {
	srv := c.srv
	srv.store.Atomic(func() {
		x := c.sess
		x.mu.Lock()
		x.recordQos2InLocked(pid, true)
		x.mu.Unlock()
		if m.retain {
			srv.retained.set(m)
			srv.recordRetained(m)
		}
		srv.routeAt(m, c.now)
	})
	c.replyPub(ackItem(packet.PUBREC, pid, packet.Success, c.version))
}
