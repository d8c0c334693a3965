package bench

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mqttx/mqttx/internal/mqttc"
	"github.com/mqttx/mqttx/internal/packet"
)

// maxAckBatch is the most acknowledgements a reader holds back before flushing.
const maxAckBatch = 64

// publisher is one publishing connection: a goroutine that writes (publish) and one
// that reads its acknowledgements (readPub).
type publisher struct {
	conn     *Conn
	index    int
	clientID string

	sent     atomic.Int64 // messages written (also the last sequence number)
	acked    atomic.Int64 // QoS 1/2 flows completed successfully
	inflight atomic.Int64
	waiting  atomic.Bool
	dead     atomic.Bool
	wake     chan struct{}
}

func (p *publisher) notify() {
	if p.waiting.Load() {
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
}

// waitRoom blocks until fewer than limit messages are in flight; false when the run
// or the connection ended meanwhile.
func (p *publisher) waitRoom(ctx context.Context, limit int64) bool {
	for p.inflight.Load() >= limit {
		p.waiting.Store(true)
		if p.inflight.Load() < limit {
			p.waiting.Store(false)
			break
		}
		select {
		case <-p.wake:
		case <-ctx.Done():
			p.waiting.Store(false)
			return false
		}
		p.waiting.Store(false)
		if p.dead.Load() {
			return false
		}
	}
	return !p.dead.Load()
}

// claim takes up to a chunk of messages from the run's limit; 0 when it is spent.
func (r *runner) claim() int64 {
	const chunk = 64
	end := r.claimed.Add(chunk)
	start := end - chunk
	if start >= r.cfg.Limit {
		return 0
	}
	return min(end, r.cfg.Limit) - start
}

// rate returns one publisher's messages per second, or 0 for as fast as the window
// allows.
func (r *runner) rate() float64 {
	switch {
	case r.cfg.Interval > 0:
		return float64(time.Second) / float64(r.cfg.Interval)
	case r.cfg.Rate > 0:
		return r.cfg.Rate / float64(r.cfg.Count)
	}
	return 0
}

// publish is a publisher's writing loop. Per message it stamps the payload in place,
// expands the topic into a reused buffer when it changes per message, and encodes the
// PUBLISH into the connection's write buffer: no allocation.
func (r *runner) publish(p *publisher) {
	cfg := &r.cfg
	payload, stamp := cfg.Payload, false
	if payload == nil {
		payload = make([]byte, cfg.Size)
		for i := range payload {
			payload[i] = 'a' + byte(i%26)
		}
		stamp = cfg.Size >= StampSize
	}
	bound := r.topic.Bind(p.index, p.clientID, cfg.Conn.Client.Username)
	perMsg := r.topic.PerMessage()
	rnd := rand.New(rand.NewPCG(uint64(p.index), uint64(time.Now().UnixNano())))
	msg := packet.Publish{QoS: byte(cfg.QoS), Retain: cfg.Retain, Payload: payload}
	var topicBuf []byte
	if !perMsg {
		msg.Topic = bound.Append(nil, 0, nil)
	}
	perRate := r.rate()
	// The broker's Receive Maximum caps the window: more in flight is a protocol error.
	window := int64(min(cfg.Inflight, p.conn.ReceiveMaximum()))
	resume := window - max(1, window/4) + 1 // waitRoom returns once inflight < resume
	var budget int64
	var id uint16
	var seq uint64
	t0 := time.Now()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	defer func() { _ = p.conn.Flush() }()
	for r.ctx.Err() == nil {
		n := int64(256)
		if perRate > 0 {
			due := int64(time.Since(t0).Seconds()*perRate) + 1
			n = due - int64(seq)
			if n <= 0 {
				// Sleep at least a millisecond: at high rates, each wake-up then sends a
				// batch in one write instead of one message per system call.
				next := t0.Add(time.Duration(float64(seq) / perRate * float64(time.Second)))
				timer.Reset(max(time.Until(next), time.Millisecond))
				select {
				case <-timer.C:
				case <-r.ctx.Done():
					return
				}
				continue
			}
			n = min(n, 1024)
		}
		for range n {
			if cfg.Limit > 0 && budget == 0 {
				if budget = r.claim(); budget == 0 {
					return
				}
			}
			if cfg.QoS > 0 && p.inflight.Load() >= window {
				// A full window waits for a quarter of it to drain, so that the next
				// messages go out in one write rather than one per acknowledgement.
				if p.conn.Flush() != nil || !p.waitRoom(r.ctx, resume) {
					return
				}
			}
			seq++
			if cfg.QoS > 0 {
				if id++; id == 0 {
					id = 1
				}
				msg.PacketID = id
				p.inflight.Add(1)
			}
			if perMsg {
				topicBuf = bound.Append(topicBuf[:0], seq, rnd)
				msg.Topic = topicBuf
			}
			if stamp {
				PutStamp(payload, time.Now().UnixNano(), uint32(p.index), seq)
			}
			if p.conn.Publish(&msg) != nil {
				return // the reader sees the connection fail and counts it
			}
			budget--
			p.sent.Store(int64(seq))
		}
		if p.conn.Flush() != nil {
			return
		}
	}
}

// lost counts a connection that failed while the run was going on.
func (r *runner) lost(err error) {
	if r.ctx.Err() == nil {
		r.countErr("connection lost: " + reason(err))
	}
}

// reader reads one connection's packets and batches the acknowledgements it writes.
type reader struct {
	c         *Conn
	unflushed int // acknowledgements written since the last flush
	last      int // size of the last packet read
}

// next flushes the acknowledgements when the read may block and returns the next
// packet. Flushing when fewer bytes are buffered than the last packet's size: the next
// packet may need the socket (packets rarely end exactly at the buffer's end, so
// "nothing buffered" would not do). The batch is capped so that the broker's inflight
// window keeps moving.
func (rd *reader) next() (packet.FixedHeader, []byte, error) {
	c := rd.c
	if rd.unflushed > 0 && (c.Buffered() < rd.last || rd.unflushed >= maxAckBatch) {
		rd.unflushed = 0
		if err := c.Flush(); err != nil {
			return packet.FixedHeader{}, nil, err
		}
	}
	h, body, err := c.ReadRaw()
	if err == nil {
		rd.last = h.PacketSize()
	}
	return h, body, err
}

// ack writes an acknowledgement into the write buffer.
func (rd *reader) ack(t packet.Type, id uint16) error {
	rd.unflushed++
	return rd.c.Ack(t, id)
}

// readPub reads a publisher's acknowledgements and answers PUBREC with PUBREL.
func (r *runner) readPub(p *publisher) {
	c := p.conn
	defer func() {
		p.dead.Store(true)
		p.waiting.Store(true)
		p.notify()
		c.Close()
	}()
	var ack packet.Ack
	rd := reader{c: c}
	for {
		h, body, err := rd.next()
		if err != nil {
			r.lost(err)
			return
		}
		switch h.Type {
		case packet.PUBACK, packet.PUBREC, packet.PUBCOMP:
			if err := ack.DecodeInto(h.First(), body, c.version); err != nil {
				r.countErr("malformed " + h.Type.String() + " from the broker")
				return
			}
			if ack.ReasonCode >= 0x80 {
				r.countErr((&mqttc.RefusedError{Op: "publish", Code: byte(ack.ReasonCode), Reason: mqttc.ReasonText(byte(ack.ReasonCode))}).Error())
				p.inflight.Add(-1)
				p.notify()
				continue
			}
			if h.Type == packet.PUBREC {
				if err := rd.ack(packet.PUBREL, ack.PacketID); err != nil {
					r.lost(err)
					return
				}
				continue
			}
			p.acked.Add(1)
			p.inflight.Add(-1)
			p.notify()
		case packet.PINGRESP:
		default:
			r.countErr("unexpected " + h.Type.String() + " from the broker")
		}
	}
}

// subscriber is one subscribing connection and its statistics.
type subscriber struct {
	conn     *Conn
	shard    *histShard
	received atomic.Int64
	stamped  int64                     // reader goroutine only
	trackers map[uint32]*lockedTracker // by publisher index; reader goroutine only
}

type lockedTracker struct {
	mu sync.Mutex
	tracker
}

// trackerFor returns the tracker of publisher pub for s: its own, or with a shared
// subscription the group's.
func (r *runner) trackerFor(s *subscriber, pub uint32) *lockedTracker {
	var t *lockedTracker
	if r.cfg.Share != "" {
		r.groupMu.Lock()
		if r.group == nil {
			r.group = map[uint32]*lockedTracker{}
		}
		if t = r.group[pub]; t == nil {
			t = &lockedTracker{}
			r.group[pub] = t
		}
		r.groupMu.Unlock()
	} else {
		t = &lockedTracker{}
	}
	// Written by this reader only; the summary reads it after the readers end.
	s.trackers[pub] = t
	return t
}

// readSub reads a subscriber's messages: acknowledges QoS 1 and 2 in batches, records
// the latency of stamped messages and tracks each publisher's sequence.
func (r *runner) readSub(s *subscriber) {
	c := s.conn
	defer c.Close()
	var msg packet.Publish
	var ack packet.Ack
	rd := reader{c: c}
	for {
		h, body, err := rd.next()
		if err != nil {
			r.lost(err)
			return
		}
		switch h.Type {
		case packet.PUBLISH:
			if err := msg.DecodeInto(h.First(), body, c.version); err != nil {
				r.countErr("malformed PUBLISH from the broker")
				return
			}
			now := time.Now().UnixNano()
			switch msg.QoS {
			case 1:
				err = rd.ack(packet.PUBACK, msg.PacketID)
			case 2:
				err = rd.ack(packet.PUBREC, msg.PacketID)
			}
			if err != nil {
				r.lost(err)
				return
			}
			s.received.Add(1)
			sent, pub, seq, ok := ReadStamp(msg.Payload)
			if !ok {
				continue
			}
			s.stamped++
			sh := s.shard
			sh.mu.Lock()
			RecordLatency(sh.cur, now-sent)
			sh.mu.Unlock()
			t := s.trackers[pub]
			if t == nil {
				t = r.trackerFor(s, pub)
			}
			t.mu.Lock()
			t.add(seq)
			t.mu.Unlock()
		case packet.PUBREL:
			if err := ack.DecodeInto(h.First(), body, c.version); err != nil {
				r.countErr("malformed PUBREL from the broker")
				return
			}
			if err := rd.ack(packet.PUBCOMP, ack.PacketID); err != nil {
				r.lost(err)
				return
			}
		case packet.PINGRESP:
		default:
			r.countErr("unexpected " + h.Type.String() + " from the broker")
		}
	}
}
