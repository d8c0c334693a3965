package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/mqttx/mqttx/internal/bench"
	"github.com/mqttx/mqttx/internal/packet"
)

// FanIn runs Publishers (default 10) publishers on Topic/<i> into Subscribers (default 1)
// subscribers on Topic/#, closed loop, until Messages (default 200,000) messages have
// been delivered in total.
func FanIn(ctx context.Context, o Options) (*Summary, error) {
	o, err := o.withDefaults(10, 1, 200_000)
	if err != nil {
		return nil, err
	}
	return runPubSub(ctx, "fan-in", o, 0)
}

// FanOut runs Publishers (default 1) publishers into Subscribers (default 10)
// subscribers, each receiving every message, closed loop, until Messages (default
// 200,000) messages have been delivered in total.
func FanOut(ctx context.Context, o Options) (*Summary, error) {
	o, err := o.withDefaults(1, 10, 200_000)
	if err != nil {
		return nil, err
	}
	return runPubSub(ctx, "fan-out", o, 0)
}

// Latency sends Messages (default 5,000) messages from one publisher to one subscriber
// at a fixed Rate (default 1000 per second), flushing each at once, and reports the
// end-to-end latency distribution (send time is carried in the payload).
func Latency(ctx context.Context, o Options) (*Summary, error) {
	o, err := o.withDefaults(1, 1, 5_000)
	if err != nil {
		return nil, err
	}
	o.Publishers, o.Subscribers = 1, 1
	return runPubSub(ctx, "latency", o, o.Rate)
}

// LatencyFanIn is Latency with the rate shared by o.Publishers publishers (default 10,
// so 10 x 100 msg/s), one subscriber: many light clients, as a broker mostly sees them.
func LatencyFanIn(ctx context.Context, o Options) (*Summary, error) {
	o, err := o.withDefaults(10, 1, 5_000)
	if err != nil {
		return nil, err
	}
	o.Subscribers = 1
	return runPubSub(ctx, "latency-fanin", o, o.Rate/float64(o.Publishers))
}

var debugStall = false

// maxAckBatch is the most acknowledgements a subscriber holds back before flushing.
const maxAckBatch = 64

// publisher is one publishing connection and its flow-control state.
type publisher struct {
	idx   int
	conn  *bench.Conn
	topic []byte
	n     int64 // messages to publish

	limit     int64 // deliveries in flight
	resume    int64 // messages that must fit before a blocked publisher resumes
	ackLimit  int64
	subs      int64
	sent      int64 // written by the publishing goroutine only
	sentDone  atomic.Int64
	delivered atomic.Int64
	acked     atomic.Int64
	waiting   atomic.Bool
	wake      chan struct{}
}

// room reports whether k more messages fit the window.
func (p *publisher) room(k int64) bool {
	if (p.sent+k)*p.subs-p.delivered.Load() > p.limit {
		return false
	}
	return p.ackLimit == 0 || p.sent+k-p.acked.Load() <= p.ackLimit
}

// waitRoom blocks until k more messages fit the window. Waiting for several at once,
// rather than one, lets the publisher write them in one batch instead of one system
// call per acknowledgement.
func (p *publisher) waitRoom(ctx context.Context, k int64) error {
	for !p.room(k) {
		p.waiting.Store(true)
		if p.room(k) {
			p.waiting.Store(false)
			return nil
		}
		select {
		case <-p.wake:
		case <-ctx.Done():
			p.waiting.Store(false)
			return context.Cause(ctx)
		}
		p.waiting.Store(false)
	}
	return nil
}

func (p *publisher) notify() {
	if p.waiting.Load() {
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
}

// subscriber is one subscribing connection and its statistics.
type subscriber struct {
	conn       *bench.Conn
	expect     int64
	received   atomic.Int64
	outOfOrder int64
	lastSeq    []uint64 // per publisher, 1-based (0: nothing yet)
	hist       *hdrhistogram.Histogram
}

// run is the shared state of one pub/sub run.
type run struct {
	ctx     context.Context
	cancel  context.CancelCauseFunc
	clock   bench.Clock
	qos     byte
	pubs    []*publisher
	subs    []*subscriber
	pending atomic.Int64 // completion events still missing
	done    chan struct{}
	closing atomic.Bool
}

func (r *run) complete() {
	if r.pending.Add(-1) == 0 {
		close(r.done)
	}
}

func (r *run) fail(err error) {
	if !r.closing.Load() {
		r.cancel(err)
	}
}

func runPubSub(parent context.Context, name string, o Options, rate float64) (sum *Summary, err error) {
	ctx, cancelT := context.WithTimeout(parent, o.Timeout)
	defer cancelT()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	perPub := int64(o.Messages / o.Subscribers / o.Publishers)
	if perPub == 0 {
		return nil, fmt.Errorf("messages %d too few for %d publishers and %d subscribers", o.Messages, o.Publishers, o.Subscribers)
	}
	r := &run{ctx: ctx, cancel: cancel, clock: bench.NewClock(), qos: o.QoS, done: make(chan struct{})}
	var wg sync.WaitGroup
	var once sync.Once
	teardown := func() {
		once.Do(func() {
			// Stop publishers and readers, close every connection, wait for all.
			r.closing.Store(true)
			cancel(nil)
			for _, p := range r.pubs {
				_ = p.conn.Disconnect()
			}
			for _, s := range r.subs {
				_ = s.conn.Disconnect()
			}
			wg.Wait()
		})
	}
	defer teardown()

	// Connect subscribers first so no message is published before they listen.
	for i := 0; i < o.Subscribers; i++ {
		co := o.Conn
		co.Client.ClientID = o.clientID("sub", i)
		co.ReadBufferSize = max(co.ReadBufferSize, 64<<10)
		if o.Persistent {
			hour := uint32(3600)
			co.Client.CleanStart, co.Client.SessionExpiry = false, &hour
		}
		c, err := bench.Dial(ctx, o.Addr, co)
		if err != nil {
			return nil, err
		}
		s := &subscriber{conn: c, expect: perPub * int64(o.Publishers), lastSeq: make([]uint64, o.Publishers), hist: bench.NewHistogram()}
		r.subs = append(r.subs, s)
		if err := c.Subscribe(ctx, o.Topic+"/#", o.QoS); err != nil {
			return nil, err
		}
	}
	ackLimit := int64(0)
	if o.QoS > 0 {
		ackLimit = int64(min(o.Window, 60000))
	}
	for i := 0; i < o.Publishers; i++ {
		co := o.Conn
		co.Client.ClientID = o.clientID("pub", i)
		co.WriteBufferSize = max(co.WriteBufferSize, 64<<10)
		c, err := bench.Dial(ctx, o.Addr, co)
		if err != nil {
			return nil, err
		}
		r.pubs = append(r.pubs, &publisher{
			idx: i, conn: c, topic: []byte(o.Topic + "/" + strconv.Itoa(i)), n: perPub,
			limit: int64(o.Window) * int64(o.Subscribers), ackLimit: ackLimit,
			resume: max(1, int64(o.Window)/4),
			subs:   int64(o.Subscribers), wake: make(chan struct{}, 1),
		})
	}
	r.pending.Store(int64(len(r.subs)))
	if o.QoS > 0 {
		r.pending.Add(int64(len(r.pubs)))
	}

	for _, s := range r.subs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := r.readSub(s); err != nil {
				r.fail(err)
			}
		}()
	}
	for _, p := range r.pubs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := r.readPub(p); err != nil {
				r.fail(err)
			}
		}()
	}

	cpu := startCPU(o.PID)
	self := startCPU(os.Getpid())
	start := time.Now()
	start2 := make(chan struct{})
	for _, p := range r.pubs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start2
			if err := r.publish(p, o.PayloadSize, rate); err != nil {
				r.fail(err)
			}
		}()
	}
	close(start2)

	var runErr error
	select {
	case <-r.done:
	case <-ctx.Done():
		runErr = context.Cause(ctx)
		if errors.Is(runErr, context.DeadlineExceeded) {
			runErr = fmt.Errorf("%s run timed out after %v", name, o.Timeout)
		}
	}
	elapsed := time.Since(start)
	brokerCPU, cpuErr := cpu.stop()
	selfCPU, _ := self.stop()
	if runErr != nil && debugStall {
		for _, p := range r.pubs {
			fmt.Printf("pub %d sent %d delivered %d acked %d waiting %v room %v\n", p.idx, p.sentDone.Load(), p.delivered.Load(), p.acked.Load(), p.waiting.Load(), p.room(1))
		}
	}
	teardown()

	sum = &Summary{
		Scenario: name, Addr: o.Addr, Version: o.Conn.ProtocolVersion().String(), QoS: int(o.QoS),
		Publishers: o.Publishers, Subscribers: o.Subscribers, PayloadSize: o.PayloadSize,
		Elapsed: elapsed, BrokerCPU: brokerCPU,
	}
	var hs []*hdrhistogram.Histogram
	for _, p := range r.pubs {
		sum.Published += p.sentDone.Load()
		sum.Acked += p.acked.Load()
	}
	for _, s := range r.subs {
		sum.Delivered += s.received.Load()
		hs = append(hs, s.hist)
	}
	for _, s := range r.subs {
		sum.OutOfOrder += s.outOfOrder
	}
	sum.Latency = bench.Summarize(hs...)
	if sum.Delivered > 0 && elapsed > 0 {
		sum.MsgsPerSec = float64(sum.Delivered) / elapsed.Seconds()
	}
	if sum.Delivered > 0 {
		sum.ClientCPUPerMsgUs = float64(selfCPU) / float64(time.Microsecond) / float64(sum.Delivered)
	}
	if sum.Delivered > 0 && o.PID > 0 {
		sum.CPUPerMsgUs = float64(brokerCPU) / float64(time.Microsecond) / float64(sum.Delivered)
	}
	if runErr != nil {
		return sum, fmt.Errorf("%w (published %d, delivered %d of %d)", runErr, sum.Published, sum.Delivered, perPub*int64(o.Publishers*o.Subscribers))
	}
	if cpuErr != nil {
		return sum, cpuErr
	}
	return sum, nil
}

// publish sends p.n messages, closed loop (rate 0) or paced at rate messages per second.
func (r *run) publish(p *publisher, size int, rate float64) error {
	payload := make([]byte, size)
	for i := bench.StampSize; i < size; i++ {
		payload[i] = 'a' + byte(i%26)
	}
	msg := &packet.Publish{Topic: p.topic, Payload: payload, QoS: r.qos}
	var interval time.Duration
	var timer *time.Timer
	next := time.Now()
	if rate > 0 {
		interval = time.Duration(float64(time.Second) / rate)
		timer = time.NewTimer(time.Hour)
		defer timer.Stop()
	}
	var id uint16
	for p.sent < p.n {
		if interval > 0 {
			next = next.Add(interval)
			if d := time.Until(next); d > 0 {
				timer.Reset(d)
				select {
				case <-timer.C:
				case <-r.ctx.Done():
					return nil
				}
			}
		}
		if !p.room(1) {
			if err := p.conn.Flush(); err != nil {
				return r.connErr("publisher", err)
			}
			if err := p.waitRoom(r.ctx, min(p.resume, p.n-p.sent)); err != nil {
				return nil // the run is over; its cause is reported by the runner
			}
		}
		if r.qos > 0 {
			id++
			if id == 0 {
				id = 1
			}
			msg.PacketID = id
		}
		p.sent++
		bench.PutStamp(payload, r.clock.Now(), uint32(p.idx), uint64(p.sent))
		if err := p.conn.Publish(msg); err != nil {
			return r.connErr("publisher", err)
		}
		p.sentDone.Store(p.sent)
		if interval > 0 {
			if err := p.conn.Flush(); err != nil {
				return r.connErr("publisher", err)
			}
		}
	}
	if err := p.conn.Flush(); err != nil {
		return r.connErr("publisher", err)
	}
	return nil
}

// connErr reports a connection error unless the run is already shutting down.
func (r *run) connErr(role string, err error) error {
	if r.closing.Load() || r.ctx.Err() != nil {
		return nil
	}
	return fmt.Errorf("%s connection: %w", role, err)
}

// readPub reads a publisher's acknowledgements.
func (r *run) readPub(p *publisher) error {
	var ack packet.Ack
	for {
		h, body, err := p.conn.ReadRaw()
		if err != nil {
			return r.connErr("publisher", err)
		}
		switch h.Type {
		case packet.PUBACK:
			if err := ack.DecodeInto(h.First(), body, p.conn.Version()); err != nil {
				return fmt.Errorf("publisher: decode PUBACK: %w", err)
			}
			if ack.ReasonCode >= 0x80 {
				return fmt.Errorf("publish refused by the broker: reason code 0x%02x", byte(ack.ReasonCode))
			}
			if p.acked.Add(1) == p.n {
				r.complete()
			}
			p.notify()
		case packet.PINGRESP:
		default:
			return fmt.Errorf("publisher: unexpected %v from the broker", h.Type)
		}
	}
}

// readSub reads a subscriber's messages, acknowledging QoS 1 ones in batches.
func (r *run) readSub(s *subscriber) error {
	var msg packet.Publish
	c := s.conn
	unflushed, last := 0, 0
	for {
		// Send the buffered acknowledgements before a read that may block: when fewer
		// bytes are buffered than the last packet's size, the next packet may need the
		// socket. Packets rarely end exactly at the buffer's end, so "nothing buffered"
		// would not do. Cap the batch so the broker's inflight window keeps moving.
		if unflushed > 0 && (c.Buffered() < last || unflushed >= maxAckBatch) {
			if err := c.Flush(); err != nil {
				return r.connErr("subscriber", err)
			}
			unflushed = 0
		}
		h, body, err := c.ReadRaw()
		if err != nil {
			return r.connErr("subscriber", err)
		}
		last = h.PacketSize()
		if h.Type != packet.PUBLISH {
			if h.Type == packet.PINGRESP {
				continue
			}
			return fmt.Errorf("subscriber: unexpected %v from the broker", h.Type)
		}
		if err := msg.DecodeInto(h.First(), body, c.Version()); err != nil {
			return fmt.Errorf("subscriber: decode PUBLISH: %w", err)
		}
		now := r.clock.Now()
		if msg.QoS > 0 {
			if err := c.Ack(packet.PUBACK, msg.PacketID); err != nil {
				return r.connErr("subscriber", err)
			}
			unflushed++
		}
		sent, pub, seq, ok := bench.ReadStamp(msg.Payload)
		if !ok || int(pub) >= len(r.pubs) {
			return fmt.Errorf("subscriber: foreign message on %q (%d bytes): is another client publishing under the bench topic?", msg.Topic, len(msg.Payload))
		}
		bench.RecordLatency(s.hist, now-sent)
		if seq != s.lastSeq[pub]+1 {
			s.outOfOrder++
		}
		s.lastSeq[pub] = max(seq, s.lastSeq[pub])
		p := r.pubs[pub]
		p.delivered.Add(1)
		p.notify()
		if s.received.Add(1) == s.expect {
			r.complete()
		}
	}
}
