package simulate

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Options configures a simulation.
type Options struct {
	Scenario *Scenario
	Devices  int           // default 1
	Interval time.Duration // per device; default the scenario's
	// Limit stops after this many messages in all (0: no limit). Duration stops after
	// this long (0: until the context ends).
	Limit    int64
	Duration time.Duration
	// Topic replaces the scenario's topic: %i device number, %c client id, %u user name,
	// %sc scenario name.
	Topic    string
	Username string // for %u
	// ClientID is the prefix of the device client ids: device n is ClientID_n.
	ClientID string
	QoS      byte
	Retain   bool
	Seed     uint64
	// Now is the clock; default time.Now. A dry run starts its virtual clock from it.
	Now func() time.Time
	// Transport connects the devices (Run only).
	Transport Transport
	// ConnectConcurrency is how many devices connect at once at the start (default 32).
	ConnectConcurrency int
	// KeepAlive is the connection's keep alive: a device whose interval is longer pings
	// in between. 0 means none.
	KeepAlive time.Duration
	// OnProgress, when set, is called about once a second during Run.
	OnProgress func(Progress)
	// OnEvent, when set, is called for connection losses and reconnects.
	OnEvent func(Event)
}

// Progress is a snapshot of a running simulation.
type Progress struct {
	Elapsed   time.Duration `json:"elapsed_ns"`
	Devices   int           `json:"devices"`
	Connected int64         `json:"connected"`
	Published int64         `json:"published"`
	Acked     int64         `json:"acked,omitempty"`
	// Failed counts messages whose write failed or that the broker refused.
	Failed int64 `json:"failed,omitempty"`
	// Skipped counts messages not sent: due while their device was reconnecting, or
	// while its window of unacknowledged QoS 1/2 messages was full.
	Skipped    int64 `json:"skipped,omitempty"`
	Reconnects int64 `json:"reconnects,omitempty"`
	Bytes      int64 `json:"bytes"`
	// Rate is messages per second over the last report interval.
	Rate float64 `json:"msgs_per_sec"`
}

// Summary is the outcome of a simulation.
type Summary struct {
	Scenario string        `json:"scenario"`
	Seed     uint64        `json:"seed"`
	QoS      int           `json:"qos"`
	Interval time.Duration `json:"interval_ns"`
	Progress
	// MsgsPerSec is the average over the whole run.
	MsgsPerSec float64 `json:"avg_msgs_per_sec"`
	// CPU is this process's CPU time during the run (0 where unknown).
	CPU time.Duration `json:"cpu_ns,omitempty"`
}

// Event is a device's connection event.
type Event struct {
	Type     string // "connected" (all devices, Device is their count), "connection_lost", "reconnected"
	Device   int
	ClientID string
	Err      error
}

func (o *Options) defaults() error {
	if o.Scenario == nil {
		return errors.New("no scenario")
	}
	if o.Devices <= 0 {
		o.Devices = 1
	}
	if o.Interval <= 0 {
		o.Interval = o.Scenario.Interval
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ClientID == "" {
		o.ClientID = "mqttx_sim"
	}
	if o.ConnectConcurrency <= 0 {
		o.ConnectConcurrency = 32
	}
	if o.QoS > 2 {
		return fmt.Errorf("invalid QoS %d: must be 0, 1 or 2", o.QoS)
	}
	return nil
}

// DeviceSeed derives device n's seed from the run's seed.
func DeviceSeed(seed uint64, n int) uint64 {
	z := seed + uint64(n)*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// ClientIDOf returns device n's client id.
func ClientIDOf(prefix string, n int) string { return prefix + "_" + strconv.Itoa(n) }

// devices makes every device before anything connects.
func (o *Options) devices() ([]*Device, error) {
	devs := make([]*Device, o.Devices)
	for i := range devs {
		n := i + 1
		id := ClientIDOf(o.ClientID, n)
		cfg := DeviceConfig{Index: n, ClientID: id, Seed: DeviceSeed(o.Seed, n)}
		if o.Topic != "" {
			cfg.Topic = ExpandTopic(o.Topic, n, id, o.Username, o.Scenario.Name)
		}
		d, err := o.Scenario.NewDevice(cfg)
		if err != nil {
			return nil, err
		}
		devs[i] = d
	}
	return devs, nil
}

// offset spreads the devices' first messages evenly over one interval.
func (o *Options) offset(i int) time.Duration {
	return time.Duration(int64(o.Interval) * int64(i) / int64(o.Devices))
}

// DryRun generates the messages without a broker, on a virtual clock that starts at
// Now and advances without waiting. Without Limit or Duration it makes one message per
// device. emit gets the messages in time order; its Payload is valid during the call.
func DryRun(o Options, emit func(Message) error) (*Summary, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	devs, err := o.devices()
	if err != nil {
		return nil, err
	}
	limit := o.Limit
	if limit == 0 && o.Duration == 0 {
		limit = int64(o.Devices)
	}
	start := o.Now()
	s := &Summary{Scenario: o.Scenario.Name, Seed: o.Seed, QoS: int(o.QoS), Interval: o.Interval}
	s.Devices = o.Devices
	for round := int64(0); ; round++ {
		for i, d := range devs {
			at := time.Duration(round)*o.Interval + o.offset(i)
			if (limit > 0 && s.Published >= limit) || (o.Duration > 0 && at >= o.Duration) {
				s.Elapsed = at
				return s, nil
			}
			m, err := d.Next(start.Add(at))
			if err != nil {
				return s, err
			}
			if err := emit(m); err != nil {
				return s, err
			}
			s.Published++
			s.Bytes += int64(len(m.Payload))
		}
	}
}

// counters are the live statistics, updated by the device goroutines.
type counters struct {
	connected, published, acked, failed, skipped, reconnects, bytes atomic.Int64
}

func (c *counters) onAck(ok bool) {
	if ok {
		c.acked.Add(1)
	} else {
		c.failed.Add(1)
	}
}

func (c *counters) snapshot(devices int, elapsed time.Duration) Progress {
	return Progress{
		Elapsed: elapsed, Devices: devices,
		Connected: c.connected.Load(), Published: c.published.Load(), Acked: c.acked.Load(),
		Failed: c.failed.Load(), Skipped: c.skipped.Load(), Reconnects: c.reconnects.Load(),
		Bytes: c.bytes.Load(),
	}
}

// Run connects the devices through o.Transport and publishes until the limit, the
// duration or ctx ends, then disconnects them all. Every device must connect at the
// start, else Run fails; afterwards a device whose connection drops reconnects with
// backoff, skipping the messages it would have sent meanwhile. Ending by ctx is not an
// error.
func Run(ctx context.Context, o Options) (*Summary, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	if o.Transport == nil {
		return nil, errors.New("no transport")
	}
	devs, err := o.devices()
	if err != nil {
		return nil, err
	}
	cpu0 := processCPU()
	start := time.Now()
	var c counters
	links := make([]Link, len(devs))

	// Connect everyone first, a few at a time; the first failure ends the run.
	connCtx, cancelConn := context.WithCancel(ctx)
	var (
		wg       sync.WaitGroup
		firstErr error
		errOnce  sync.Once
		sem      = make(chan struct{}, o.ConnectConcurrency)
	)
	for i := range devs {
		select {
		case sem <- struct{}{}:
		case <-connCtx.Done():
		}
		if connCtx.Err() != nil {
			break
		}
		wg.Add(1)
		go func(i int) {
			defer func() { <-sem; wg.Done() }()
			l, err := o.Transport.Connect(connCtx, devs[i].cfg.ClientID, c.onAck)
			if err != nil {
				errOnce.Do(func() { firstErr = fmt.Errorf("device %d (%s): %w", i+1, devs[i].cfg.ClientID, err); cancelConn() })
				return
			}
			links[i] = l
			c.connected.Add(1)
		}(i)
	}
	wg.Wait()
	cancelConn()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = ctx.Err()
	}
	if firstErr != nil {
		for _, l := range links {
			if l != nil {
				_ = l.Disconnect()
			}
		}
		return nil, firstErr
	}

	if o.OnEvent != nil {
		o.OnEvent(Event{Type: "connected", Device: len(devs)})
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	if o.Duration > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(runCtx, o.Duration)
		defer cancel()
	}
	var issued atomic.Int64
	t0 := time.Now()
	progressDone := make(chan struct{})
	if o.OnProgress != nil {
		go func() {
			defer close(progressDone)
			tick := time.NewTicker(time.Second)
			defer tick.Stop()
			last, lastAt := int64(0), t0
			for {
				select {
				case <-runCtx.Done():
					return
				case now := <-tick.C:
					p := c.snapshot(o.Devices, now.Sub(start))
					p.Rate = float64(p.Published-last) / now.Sub(lastAt).Seconds()
					last, lastAt = p.Published, now
					o.OnProgress(p)
				}
			}
		}()
	} else {
		close(progressDone)
	}
	runs := make([]*deviceRun, len(devs))
	for i, d := range devs {
		runs[i] = &deviceRun{o: &o, d: d, c: &c, next: t0.Add(o.offset(i))}
		runs[i].link.Store(&linkBox{links[i]})
	}
	// Each device keeps a goroutine that waits for its connection to drop, reconnects
	// and pings when idle; publishing is done by a few shards, each waking once for all
	// its devices that are due together, so a large fleet costs few wake-ups.
	// The watchers outlive the shards, so no device disconnects under a publish.
	watchCtx, stopWatch := context.WithCancel(context.Background())
	defer stopWatch()
	for _, r := range runs {
		wg.Add(1)
		go func(r *deviceRun) {
			defer wg.Done()
			r.watch(watchCtx)
		}(r)
	}
	var loopErr error
	var loopErrOnce sync.Once
	shards := shardCount(len(runs))
	var swg sync.WaitGroup
	for s := 0; s < shards; s++ {
		var mine []*deviceRun
		for i := s; i < len(runs); i += shards {
			mine = append(mine, runs[i])
		}
		swg.Add(1)
		go func(mine []*deviceRun) {
			defer swg.Done()
			sh := &shard{o: &o, runs: mine, c: &c, issued: &issued, stop: stop}
			if err := sh.loop(runCtx); err != nil {
				loopErrOnce.Do(func() { loopErr = err })
				stop()
			}
		}(mine)
	}
	swg.Wait()
	stop()
	stopWatch()
	wg.Wait()
	stop()
	<-progressDone
	s := &Summary{Scenario: o.Scenario.Name, Seed: o.Seed, QoS: int(o.QoS), Interval: o.Interval}
	s.Progress = c.snapshot(o.Devices, time.Since(start))
	s.Connected = 0 // everyone has disconnected
	if el := time.Since(t0).Seconds(); el > 0 {
		s.MsgsPerSec = float64(s.Published) / el
	}
	if cpu0 >= 0 {
		if cpu1 := processCPU(); cpu1 >= 0 {
			s.CPU = cpu1 - cpu0
		}
	}
	return s, loopErr
}

// shardCount is how many publishing goroutines drive n devices: one per 250 devices,
// at least one, at most 64.
func shardCount(n int) int {
	return min(max(1, (n+249)/250), 64)
}

// batch is how close together due messages are sent in one wake-up.
const batch = 2 * time.Millisecond

// linkBox lets the link be swapped atomically (nil while reconnecting).
type linkBox struct{ l Link }

// deviceRun is one device's connection and schedule.
type deviceRun struct {
	o    *Options
	d    *Device
	c    *counters
	link atomic.Pointer[linkBox]
	next time.Time // when the next message is due; owned by the device's shard
}

// shard publishes for its devices, each on its own schedule.
type shard struct {
	o      *Options
	runs   []*deviceRun
	c      *counters
	issued *atomic.Int64
	stop   context.CancelFunc
}

func (sh *shard) loop(ctx context.Context) error {
	o := sh.o
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		// The earliest due device says when to wake.
		due := sh.runs[0].next
		for _, r := range sh.runs[1:] {
			if r.next.Before(due) {
				due = r.next
			}
		}
		if wait := time.Until(due); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return nil
			case <-timer.C:
			}
		} else if ctx.Err() != nil {
			return nil
		}
		now := time.Now()
		horizon := now.Add(batch)
		for _, r := range sh.runs {
			if r.next.After(horizon) {
				continue
			}
			if o.Limit > 0 && sh.issued.Add(1) > o.Limit {
				sh.stop()
				return nil
			}
			box := r.link.Load()
			if box == nil || box.l == nil {
				sh.c.skipped.Add(1) // offline: the device is reconnecting
			} else {
				m, err := r.d.Next(time.Now())
				if err != nil {
					return err
				}
				if err := box.l.Publish(m.Topic, m.Payload, o.QoS, o.Retain); errors.Is(err, ErrInflight) {
					sh.c.skipped.Add(1)
				} else if err != nil {
					sh.c.failed.Add(1)
				} else {
					sh.c.published.Add(1)
					sh.c.bytes.Add(int64(len(m.Payload)))
				}
			}
			if o.Limit > 0 && sh.issued.Load() >= o.Limit {
				sh.stop()
				return nil
			}
			r.next = r.next.Add(o.Interval)
			if r.next.Before(now) {
				r.next = now // behind: send at once, but never in a burst
			}
		}
	}
}

// watch holds the device's connection: it reconnects when it drops, pings when the
// interval is longer than half the keep alive, and disconnects when ctx ends.
func (r *deviceRun) watch(ctx context.Context) {
	o := r.o
	defer func() {
		if box := r.link.Swap(nil); box != nil && box.l != nil {
			_ = box.l.Disconnect()
			r.c.connected.Add(-1)
		}
	}()
	var pingC <-chan time.Time
	if o.KeepAlive > 0 && o.Interval > o.KeepAlive/2 {
		t := time.NewTicker(o.KeepAlive / 2)
		defer t.Stop()
		pingC = t.C
	}
	for {
		l := r.link.Load().l
		select {
		case <-ctx.Done():
			return
		case <-pingC:
			_ = l.Ping()
		case <-l.Done():
			r.lost(l.Err())
			r.link.Store(&linkBox{})
			nl, ok := r.reconnect(ctx)
			if !ok {
				return
			}
			r.link.Store(&linkBox{nl})
		}
	}
}

func (r *deviceRun) lost(err error) {
	r.c.connected.Add(-1)
	if r.o.OnEvent != nil {
		r.o.OnEvent(Event{Type: "connection_lost", Device: r.d.cfg.Index, ClientID: r.d.cfg.ClientID, Err: err})
	}
}

// reconnect retries with exponential backoff and jitter (250ms doubling to 10s) until
// it connects or ctx ends.
func (r *deviceRun) reconnect(ctx context.Context) (Link, bool) {
	backoff := 250 * time.Millisecond
	for {
		wait := backoff/2 + time.Duration(rand.Int64N(int64(backoff)))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, false
		case <-t.C:
		}
		l, err := r.o.Transport.Connect(ctx, r.d.cfg.ClientID, r.c.onAck)
		if err == nil {
			r.c.connected.Add(1)
			r.c.reconnects.Add(1)
			if r.o.OnEvent != nil {
				r.o.OnEvent(Event{Type: "reconnected", Device: r.d.cfg.Index, ClientID: r.d.cfg.ClientID})
			}
			return l, true
		}
		if backoff < 10*time.Second {
			backoff *= 2
		}
	}
}
