package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/mqttx/mqttx/internal/mqttc"
	"github.com/mqttx/mqttx/internal/packet"
)

// Config is one run of mqttx bench: Parameters as the user gave them, plus what the
// engine needs besides.
type Config struct {
	Parameters
	// Conn is the template of every connection (shared settings, transport). Its
	// Client.ClientID is ignored: Parameters.ClientID names the connections.
	Conn ConnOptions
	// LocalAddrs are the source addresses of plain TCP connections, used in turn.
	LocalAddrs []net.IP
	// Payload, when not nil, is sent as is (-m, -f): no stamp, no latency.
	Payload []byte
	// ConnectTimeout bounds each connection's dial and CONNACK (default 10s).
	ConnectTimeout time.Duration
	// Concurrency is how many connections are opened at once (default 8).
	Concurrency int
	// Drain is how long a run with a message limit waits, once everything is sent,
	// for acknowledgements and deliveries that are still missing (default 2s of no
	// progress).
	Drain time.Duration
	// OnProgress, when set, is called every ProgressEvery (default 1s) from one
	// goroutine.
	OnProgress    func(Progress)
	ProgressEvery time.Duration
}

// Run runs the benchmark until the duration passes, the message limit is sent and
// drained, or ctx is cancelled (Ctrl-C: not an error), and returns its summary. A
// refused CONNECT or SUBSCRIBE stops the run: the error is a *mqttc.RefusedError and
// the summary says what ran until then.
func Run(ctx context.Context, cfg Config) (*Summary, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	r := newRunner(cfg)
	return r.run(ctx)
}

func (cfg *Config) check() error {
	p := &cfg.Parameters
	switch p.Command {
	case "conn", "pub", "sub":
	default:
		return fmt.Errorf("unknown bench command %q: must be conn, pub or sub", p.Command)
	}
	if p.Broker == "" {
		return errors.New("no broker address")
	}
	if p.Count < 1 {
		return fmt.Errorf("invalid count %d: must be at least 1", p.Count)
	}
	if p.QoS < 0 || p.QoS > 2 {
		return fmt.Errorf("invalid QoS %d: must be 0, 1 or 2", p.QoS)
	}
	if p.Command == "pub" && p.Topic == "" {
		return errors.New("no topic to publish to")
	}
	if p.Command == "sub" && len(p.Topics) == 0 {
		return errors.New("no topic filter to subscribe to")
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = 10 * time.Second
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 8
	}
	if cfg.Drain <= 0 {
		cfg.Drain = 2 * time.Second
	}
	if cfg.ProgressEvery <= 0 {
		cfg.ProgressEvery = time.Second
	}
	if p.Command == "pub" && p.Inflight <= 0 {
		p.Inflight = 100
	}
	if p.Command == "pub" && p.Size <= 0 && cfg.Payload == nil {
		p.Size = 256
	}
	if p.ClientID == "" {
		return errors.New("no client id template")
	}
	return nil
}

// histShard is a latency histogram shared by a few workers: cur collects the current
// progress interval, total the run.
type histShard struct {
	mu    sync.Mutex
	cur   *hdrhistogram.Histogram
	total *hdrhistogram.Histogram
	_     [40]byte // keep shards' locks on separate cache lines
}

type runner struct {
	cfg   Config
	ctx   context.Context
	stop  context.CancelCauseFunc
	start time.Time

	clientID Template
	topic    Template
	filters  []Template

	attempted atomic.Int64
	connected atomic.Int64
	failed    atomic.Int64
	errCount  atomic.Int64
	connDone  time.Time // when the last connection attempt finished

	mu      sync.Mutex
	errs    map[string]int64
	connH   *hdrhistogram.Histogram
	pubs    []*publisher
	subs    []*subscriber
	idle    []IdleConn
	conns   []*Conn // every full connection, for keep alive and shutdown
	claimed atomic.Int64
	// serverKeepAlive is the smallest MQTT 5 Server Keep Alive a CONNACK set, in
	// seconds; 0 while none did. The pinger follows it.
	serverKeepAlive atomic.Int32

	shards []*histShard

	groupMu  sync.Mutex
	group    map[uint32]*lockedTracker // shared subscriptions: one tracker per publisher
	wg       sync.WaitGroup            // publishers and readers
	pubsLeft atomic.Int64
	pubsDone chan struct{}
}

func newRunner(cfg Config) *runner {
	r := &runner{cfg: cfg, errs: map[string]int64{}, connH: NewHistogram(), pubsDone: make(chan struct{})}
	n := 1
	if cfg.Command == "sub" || cfg.Subscribers > 0 {
		n = min(max(cfg.Count, cfg.Subscribers), 2*runtime.GOMAXPROCS(0))
	}
	for range n {
		r.shards = append(r.shards, &histShard{cur: NewHistogram(), total: NewHistogram()})
	}
	return r
}

func (r *runner) parse() error {
	var err error
	if r.clientID, err = ParseTemplate(r.cfg.ClientID); err != nil {
		return err
	}
	if r.cfg.Topic != "" {
		if r.topic, err = ParseTemplate(r.cfg.Topic); err != nil {
			return err
		}
	}
	for _, f := range r.cfg.Topics {
		t, err := ParseTemplate(f)
		if err != nil {
			return err
		}
		if t.PerMessage() {
			return fmt.Errorf("invalid topic filter %q: %%s and %%rand_N belong in published topics", f)
		}
		r.filters = append(r.filters, t)
	}
	return nil
}

// subSuffix ends the client ids of pub --sub's subscribers, which share indexes with
// the publishers.
const subSuffix = "_sub"

// id returns connection index's client id.
func (r *runner) id(index int) string {
	if r.clientID.Has('i') {
		return r.clientID.Expand(index, "", r.cfg.Conn.Client.Username)
	}
	return r.clientID.Expand(index, "", r.cfg.Conn.Client.Username) + strconv.Itoa(index)
}

// fail stops the run with err unless it is already stopping.
func (r *runner) fail(err error) { r.stop(err) }

// countErr counts an error under its reason.
func (r *runner) countErr(reason string) {
	r.errCount.Add(1)
	r.mu.Lock()
	r.errs[reason]++
	r.mu.Unlock()
}

func (r *runner) run(parent context.Context) (*Summary, error) {
	if err := r.parse(); err != nil {
		return nil, err
	}
	ctx, stop := context.WithCancelCause(parent)
	defer stop(nil)
	if d := r.cfg.Duration; d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	r.ctx, r.stop = ctx, stop
	r.start = time.Now()
	cpu0 := processCPU()

	progressDone := make(chan struct{})
	progressStop := make(chan struct{})
	go r.progressLoop(progressStop, progressDone)
	keepAliveStop := make(chan struct{})
	keepAliveDone := make(chan struct{})
	go r.keepAlive(keepAliveStop, keepAliveDone)

	r.connectAll()
	r.connDone = time.Now()
	if r.connected.Load() == 0 && context.Cause(ctx) == nil {
		r.stop(r.firstError())
	}
	r.wait()
	elapsed := time.Since(r.start)

	close(keepAliveStop)
	<-keepAliveDone
	close(progressStop)
	<-progressDone
	r.shutdown()
	sum := r.summary(elapsed, processCPU()-cpu0)

	err := context.Cause(ctx)
	switch {
	case err == nil, errors.Is(err, errFinished), errors.Is(err, context.DeadlineExceeded) && r.cfg.Duration > 0:
		err = nil
	case errors.Is(err, context.Canceled) && parent.Err() != nil:
		err = nil // Ctrl-C: the summary of what ran
	}
	return sum, err
}

var errFinished = errors.New("finished")

// firstError is the reason the run could not connect at all.
func (r *runner) firstError() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for reason := range r.errs {
		return fmt.Errorf("no connection to %s succeeded: %s", r.cfg.Broker, reason)
	}
	return fmt.Errorf("no connection to %s succeeded", r.cfg.Broker)
}

// wait blocks until the run ends: the context (duration, Ctrl-C, a fatal error) or,
// with a message limit, every message sent and then drained.
func (r *runner) wait() {
	if r.cfg.Command != "pub" || r.cfg.Limit <= 0 {
		<-r.ctx.Done()
		return
	}
	select {
	case <-r.ctx.Done():
		return
	case <-r.pubsDone:
	}
	// Drain: wait while acknowledgements and deliveries still arrive.
	want := r.expectedDeliveries()
	last, lastAt := int64(-1), time.Now()
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		got := r.sumAcked() + r.sumReceived()
		if got >= want {
			r.stop(errFinished)
			return
		}
		if got != last {
			last, lastAt = got, time.Now()
		} else if time.Since(lastAt) > r.cfg.Drain {
			r.stop(errFinished)
			return
		}
		select {
		case <-r.ctx.Done():
			return
		case <-t.C:
		}
	}
}

// expectedDeliveries is what a finished pub run waits for: every QoS 1/2 flow
// completed and every message received by each of its own subscribers.
func (r *runner) expectedDeliveries() int64 {
	var sent int64
	for _, p := range r.snapshotPubs() {
		sent += p.sent.Load()
	}
	want := int64(0)
	if r.cfg.QoS > 0 {
		want += sent
	}
	r.mu.Lock()
	nsubs := int64(len(r.subs))
	r.mu.Unlock()
	if r.cfg.Share != "" {
		nsubs = min(nsubs, 1)
	}
	return want + sent*nsubs
}

func (r *runner) snapshotPubs() []*publisher {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pubs
}

func (r *runner) snapshotSubs() []*subscriber {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.subs
}

func (r *runner) sumAcked() (n int64) {
	for _, p := range r.snapshotPubs() {
		n += p.acked.Load()
	}
	return n
}

func (r *runner) sumReceived() (n int64) {
	for _, s := range r.snapshotSubs() {
		n += s.received.Load()
	}
	return n
}

// connectAll opens the run's connections: for pub with --sub, the subscribers first.
func (r *runner) connectAll() {
	switch r.cfg.Command {
	case "conn":
		r.connectN(r.cfg.Count, r.cfg.StartIndex, r.openIdle)
	case "sub":
		r.connectN(r.cfg.Count, r.cfg.StartIndex, r.openSub)
	case "pub":
		if n := r.cfg.Subscribers; n > 0 {
			r.filters = []Template{mustTemplate(r.topic.Filter())}
			r.connectN(n, r.cfg.StartIndex, r.openSub)
			if r.ctx.Err() != nil {
				return
			}
		}
		r.pubsLeft.Store(int64(r.cfg.Count))
		r.connectN(r.cfg.Count, r.cfg.StartIndex, r.openPub)
	}
}

func mustTemplate(s string) Template {
	t, err := ParseTemplate(s)
	if err != nil {
		panic(err)
	}
	return t
}

// connectN opens n connections with indexes from start, paced by ConnectInterval or
// ConnectRate, Concurrency at a time.
func (r *runner) connectN(n, start int, open func(d *dialSlot, index int) error) {
	var next atomic.Int64
	t0 := time.Now()
	var wg sync.WaitGroup
	workers := min(r.cfg.Concurrency, n)
	if r.cfg.ConnectInterval > 0 || r.cfg.ConnectRate > 0 {
		workers = min(max(workers, 64), n) // a slow handshake must not hold back the pace
	}
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			slot := r.newSlot(w)
			timer := time.NewTimer(time.Hour)
			defer timer.Stop()
			for {
				k := int(next.Add(1) - 1)
				if k >= n || r.ctx.Err() != nil {
					return
				}
				if at := r.startAt(t0, k); !at.IsZero() {
					if d := time.Until(at); d > 0 {
						timer.Reset(d)
						select {
						case <-timer.C:
						case <-r.ctx.Done():
							return
						}
					}
				}
				r.attempted.Add(1)
				ctx, cancel := context.WithTimeout(r.ctx, r.cfg.ConnectTimeout)
				began := time.Now()
				slot.ctx = ctx
				err := open(slot, start+k)
				cancel()
				if err != nil {
					if r.ctx.Err() != nil {
						return
					}
					var refused *mqttc.RefusedError
					if errors.As(err, &refused) {
						r.countErr(reason(err))
						r.failed.Add(1)
						r.fail(err)
						return
					}
					r.failed.Add(1)
					r.countErr(reason(err))
					continue
				}
				d := time.Since(began)
				r.mu.Lock()
				RecordLatency(r.connH, int64(d))
				r.mu.Unlock()
				r.connected.Add(1)
			}
		}()
	}
	wg.Wait()
}

// startAt is when connection k (from 0) may start, or zero for at once.
func (r *runner) startAt(t0 time.Time, k int) time.Time {
	switch {
	case r.cfg.ConnectInterval > 0:
		return t0.Add(time.Duration(k) * r.cfg.ConnectInterval)
	case r.cfg.ConnectRate > 0:
		return t0.Add(time.Duration(float64(k) / r.cfg.ConnectRate * float64(time.Second)))
	}
	return time.Time{}
}

// dialSlot is one connecting goroutine's state.
type dialSlot struct {
	ctx   context.Context
	idles []*IdleDialer // one per source address
	n     int
}

func (r *runner) newSlot(w int) *dialSlot {
	s := &dialSlot{n: w}
	if r.cfg.Command == "conn" {
		addrs := r.cfg.LocalAddrs
		if len(addrs) == 0 {
			addrs = []net.IP{nil}
		}
		for _, a := range addrs {
			o := r.cfg.Conn
			o.LocalAddr = a
			s.idles = append(s.idles, NewIdleDialer(r.cfg.Broker, o))
		}
	}
	return s
}

// connOptions returns the options of connection index.
func (r *runner) connOptions(index int) ConnOptions {
	o := r.cfg.Conn
	o.Client.ClientID = r.id(index)
	if n := len(r.cfg.LocalAddrs); n > 0 {
		o.LocalAddr = r.cfg.LocalAddrs[index%n]
	}
	return o
}

func (r *runner) openIdle(s *dialSlot, index int) error {
	d := s.idles[index%len(s.idles)]
	c, err := d.Dial(s.ctx, r.id(index))
	if err != nil {
		return err
	}
	r.noteKeepAlive(d.ServerKeepAlive())
	r.mu.Lock()
	r.idle = append(r.idle, c)
	r.mu.Unlock()
	return nil
}

func (r *runner) dial(s *dialSlot, index int, rbuf, wbuf int) (*Conn, error) {
	o := r.connOptions(index)
	o.ReadBufferSize, o.WriteBufferSize = rbuf, wbuf
	c, err := Dial(s.ctx, r.cfg.Broker, o)
	if err == nil {
		r.noteKeepAlive(c.ServerKeepAlive())
	}
	return c, err
}

// noteKeepAlive records a broker's Server Keep Alive of sec seconds (0: none set).
func (r *runner) noteKeepAlive(sec uint16) {
	for sec > 0 {
		old := r.serverKeepAlive.Load()
		if old != 0 && old <= int32(sec) || r.serverKeepAlive.CompareAndSwap(old, int32(sec)) {
			return
		}
	}
}

// keepAlivePeriod is the keep alive the connections must honour: the broker's Server
// Keep Alive where it set one [MQTT-3.2.2-21], else the one we asked for.
func (r *runner) keepAlivePeriod() time.Duration {
	if s := r.serverKeepAlive.Load(); s > 0 {
		return time.Duration(s) * time.Second
	}
	return time.Duration(r.cfg.Conn.Client.KeepAlive) * time.Second
}

func (r *runner) openSub(s *dialSlot, index int) error {
	o := r.connOptions(index)
	if r.cfg.Command == "pub" {
		o.Client.ClientID += subSuffix
	}
	n := r.cfg.Count
	if r.cfg.Command == "pub" {
		n = r.cfg.Subscribers
	}
	o.ReadBufferSize, o.WriteBufferSize = bufSize(n), 4<<10
	c, err := Dial(s.ctx, r.cfg.Broker, o)
	if err != nil {
		return err
	}
	r.noteKeepAlive(c.ServerKeepAlive())
	cid := o.Client.ClientID
	for _, f := range r.filters {
		filter := f.Expand(index, cid, r.cfg.Conn.Client.Username)
		if r.cfg.Share != "" {
			filter = "$share/" + r.cfg.Share + "/" + filter
		}
		if err := c.Subscribe(s.ctx, filter, byte(r.cfg.QoS)); err != nil {
			c.Close()
			return err
		}
	}
	r.mu.Lock()
	sub := &subscriber{conn: c, shard: r.shards[len(r.subs)%len(r.shards)], trackers: map[uint32]*lockedTracker{}}
	r.subs = append(r.subs, sub)
	r.conns = append(r.conns, c)
	r.wg.Add(1)
	r.mu.Unlock()
	go func() {
		defer r.wg.Done()
		r.readSub(sub)
	}()
	return nil
}

func (r *runner) openPub(s *dialSlot, index int) error {
	c, err := r.dial(s, index, 4<<10, bufSize(r.cfg.Count))
	if err != nil {
		if r.pubsLeft.Add(-1) == 0 {
			close(r.pubsDone)
		}
		return err
	}
	p := &publisher{conn: c, index: index, clientID: r.id(index), wake: make(chan struct{}, 1)}
	r.mu.Lock()
	r.pubs = append(r.pubs, p)
	r.conns = append(r.conns, c)
	r.wg.Add(2)
	r.mu.Unlock()
	go func() {
		defer r.wg.Done()
		r.readPub(p)
	}()
	go func() {
		defer r.wg.Done()
		r.publish(p)
		if r.pubsLeft.Add(-1) == 0 {
			close(r.pubsDone)
		}
	}()
	return nil
}

// bufSize is the size of the busy side's buffer (a publisher's writes, a subscriber's
// reads) for n such connections: large buffers batch more per system call, but
// thousands of connections cannot each have 64 KiB.
func bufSize(n int) int {
	switch {
	case n <= 64:
		return 64 << 10
	case n <= 1000:
		return 16 << 10
	}
	return 4 << 10
}

// keepAlive sends PINGREQ on every connection each three quarters of the keep alive
// interval (the broker's Server Keep Alive when it set one): idle connections have no
// traffic of their own, and a pinger per connection would cost a goroutine or timer
// each.
func (r *runner) keepAlive(stop, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		ka := r.keepAlivePeriod()
		if ka <= 0 || time.Since(last) < ka*3/4 {
			continue
		}
		last = time.Now()
		r.mu.Lock()
		idle, conns := r.idle, r.conns
		r.mu.Unlock()
		for _, c := range idle {
			if c.Ping() != nil {
				r.countErr("ping failed: connection lost")
			}
		}
		for _, c := range conns {
			_ = c.WritePacket(&packet.Pingreq{})
			_ = c.Flush()
		}
	}
}

// shutdown stops publishers and readers and closes every connection with DISCONNECT.
func (r *runner) shutdown() {
	r.mu.Lock()
	idle, conns := r.idle, r.conns
	r.mu.Unlock()
	for _, p := range r.snapshotPubs() {
		p.notify()
	}
	var wg sync.WaitGroup
	// Disconnect from a few goroutines: thousands of sequential DISCONNECTs take long.
	work := make(chan func(), 64)
	for range min(16, len(idle)+len(conns)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range work {
				f()
			}
		}()
	}
	for _, c := range conns {
		work <- func() { _ = c.Disconnect() }
	}
	for _, c := range idle {
		work <- func() { _ = c.Close() }
	}
	close(work)
	wg.Wait()
	r.wg.Wait()
}

// progressLoop calls OnProgress every ProgressEvery and moves the shards' current
// histograms into their totals.
func (r *runner) progressLoop(stop, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(r.cfg.ProgressEvery)
	defer t.Stop()
	tick := NewHistogram()
	var lastPub, lastRecv int64
	last := r.start
	for {
		select {
		case <-stop:
			r.collect(nil)
			return
		case <-t.C:
		}
		tick.Reset()
		r.collect(tick)
		now := time.Now()
		pub, recv := r.sumPublished(), r.sumReceived()
		secs := now.Sub(last).Seconds()
		p := Progress{
			Elapsed:     now.Sub(r.start).Seconds(),
			Connected:   r.connected.Load(),
			Failed:      r.failed.Load(),
			Published:   pub,
			Received:    recv,
			PublishRate: float64(pub-lastPub) / secs,
			ReceiveRate: float64(recv-lastRecv) / secs,
			Errors:      r.errCount.Load(),
		}
		if tick.TotalCount() > 0 {
			p.P50, p.P99 = tick.ValueAtQuantile(50), tick.ValueAtQuantile(99)
		}
		lastPub, lastRecv, last = pub, recv, now
		if r.cfg.OnProgress != nil {
			r.cfg.OnProgress(p)
		}
	}
}

// collect moves each shard's current histogram into its total and, when tick is not
// nil, into tick.
func (r *runner) collect(tick *hdrhistogram.Histogram) {
	for _, s := range r.shards {
		s.mu.Lock()
		if s.cur.TotalCount() > 0 {
			if tick != nil {
				tick.Merge(s.cur)
			}
			s.total.Merge(s.cur)
			s.cur.Reset()
		}
		s.mu.Unlock()
	}
}

func (r *runner) sumPublished() (n int64) {
	for _, p := range r.snapshotPubs() {
		n += p.sent.Load()
	}
	return n
}

func (r *runner) summary(elapsed, cpu time.Duration) *Summary {
	r.collect(nil)
	s := &Summary{
		Parameters: r.cfg.Parameters,
		StartedAt:  r.start,
		Elapsed:    elapsed.Seconds(),
		Runs:       1,
		CPU:        cpu.Seconds(),
	}
	s.Parameters.Version = r.cfg.Conn.ProtocolVersion().String()
	c := &s.Connections
	c.Attempted, c.Connected, c.Failed = r.attempted.Load(), r.connected.Load(), r.failed.Load()
	if d := r.connDone.Sub(r.start); d > 0 && c.Connected > 0 {
		c.Rate = float64(c.Connected) / d.Seconds()
	}
	r.mu.Lock()
	c.Latency = summarize(r.connH)
	s.Hist.Connect = encodeHist(r.connH)
	if len(r.errs) > 0 {
		s.Errors = map[string]int64{}
		for k, v := range r.errs {
			s.Errors[k] = v
		}
	}
	r.mu.Unlock()

	// What this run's publishers sent, by index, to count what never arrived; only
	// stamped payloads say who sent them.
	sent := map[uint32]uint64{}
	stamped := r.cfg.Payload == nil && r.cfg.Size >= StampSize
	for _, p := range r.snapshotPubs() {
		n := p.sent.Load()
		s.Published += n
		s.Acked += p.acked.Load()
		if stamped {
			sent[uint32(p.index)] = uint64(n)
		}
	}
	lat := NewHistogram()
	for _, sh := range r.shards {
		lat.Merge(sh.total)
	}
	s.Latency = summarize(lat)
	s.Hist.Latency = encodeHist(lat)

	seen := map[*lockedTracker]bool{}
	for _, sub := range r.snapshotSubs() {
		s.Received += sub.received.Load()
		s.Stamped += sub.stamped
		for pub, t := range sub.trackers {
			if seen[t] {
				continue
			}
			seen[t] = true
			t.mu.Lock()
			s.Lost += t.lost
			s.Duplicates += t.duplicates
			s.OutOfOrder += t.outOfOrder
			// Messages this run sent after the last one received are lost too.
			if n, ok := sent[pub]; ok && n > t.last() {
				s.Lost += int64(n - t.last())
			}
			t.mu.Unlock()
		}
		if r.cfg.Command == "pub" && r.cfg.Share == "" {
			// Publishers from whom this subscriber received nothing at all.
			for pub, n := range sent {
				if _, ok := sub.trackers[pub]; !ok {
					s.Lost += int64(n)
				}
			}
		}
	}
	if r.cfg.Command == "pub" && r.cfg.Share != "" && len(r.subs) > 0 {
		for pub, n := range sent {
			r.groupMu.Lock()
			_, ok := r.group[pub]
			r.groupMu.Unlock()
			if !ok {
				s.Lost += int64(n)
			}
		}
	}
	if elapsed > 0 {
		s.PublishRate = float64(s.Published) / elapsed.Seconds()
		s.ReceiveRate = float64(s.Received) / elapsed.Seconds()
	}
	if n := s.Published + s.Received; n > 0 {
		s.CPUPerMsg = s.CPU * 1e6 / float64(n)
	}
	return s
}

// reason is a short, stable label for an error, to count errors by kind.
func reason(err error) string {
	var refused *mqttc.RefusedError
	if errors.As(err, &refused) {
		return refused.Error()
	}
	if errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
		return "timeout"
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno.Error()
	}
	msg := err.Error()
	if len(msg) > 80 {
		msg = msg[:80]
	}
	return msg
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
