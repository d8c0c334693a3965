package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mqttx/mqttx/internal/bench"
)

// IdleConns opens Connections (default 5000) idle connections (keep alive off unless
// Conn.Client.KeepAlive is set) with Concurrency dialers and reports the broker's resident
// memory growth per connection: VmRSS of Options.PID sampled after Settle before the
// first connection and after Settle once all are connected. Without a PID it still
// opens and counts the connections.
func IdleConns(ctx context.Context, o Options) (*Summary, error) {
	o, err := o.withDefaults(0, 0, 0)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	sum := &Summary{Scenario: "idle-conns", Addr: o.Addr, Version: o.Conn.ProtocolVersion().String(), Connections: o.Connections}
	if o.PID > 0 {
		if err := sleepCtx(ctx, o.Settle); err != nil {
			return nil, err
		}
		if sum.RSSBefore, err = ProcRSS(o.PID); err != nil {
			return nil, err
		}
	}
	start := time.Now()
	conns, err := dialMany(ctx, &o)
	defer closeAll(conns)
	sum.Elapsed = time.Since(start)
	if err != nil {
		return sum, err
	}
	if o.PID > 0 {
		if err := sleepCtx(ctx, o.Settle); err != nil {
			return sum, err
		}
		if sum.RSSAfter, err = ProcRSS(o.PID); err != nil {
			return sum, err
		}
		sum.BytesPerConn = float64(sum.RSSAfter-sum.RSSBefore) / float64(len(conns))
	}
	if o.Hold > 0 {
		if err := sleepCtx(ctx, o.Hold); err != nil {
			return sum, err
		}
	}
	return sum, nil
}

// ConnectRate completes Connections (default 5000) CONNECT/CONNACK handshakes with
// Concurrency (default 4) dialers, keeping every connection open until the last
// handshake, and reports handshakes per second and the broker's CPU time per
// connection.
func ConnectRate(ctx context.Context, o Options) (*Summary, error) {
	o, err := o.withDefaults(0, 0, 0)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	sum := &Summary{Scenario: "connect-rate", Addr: o.Addr, Version: o.Conn.ProtocolVersion().String(), Connections: o.Connections}
	cpu := startCPU(o.PID)
	self := startCPU(os.Getpid())
	start := time.Now()
	conns, err := dialMany(ctx, &o)
	sum.Elapsed = time.Since(start)
	brokerCPU, cpuErr := cpu.stop()
	selfCPU, _ := self.stop()
	closeAll(conns)
	if err != nil {
		return sum, err
	}
	sum.ConnsPerSec = float64(len(conns)) / sum.Elapsed.Seconds()
	sum.BrokerCPU = brokerCPU
	sum.ClientCPUPerConnUs = float64(selfCPU) / float64(time.Microsecond) / float64(len(conns))
	if o.PID > 0 {
		sum.CPUPerConnUs = float64(brokerCPU) / float64(time.Microsecond) / float64(len(conns))
	}
	return sum, cpuErr
}

// dialMany opens o.Connections connections with o.Concurrency dialers. On error it
// returns the connections opened so far with the first error.
func dialMany(ctx context.Context, o *Options) ([]io.Closer, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	dialer := bench.NewIdleDialer(o.Addr, o.Conn)
	conns := make([]io.Closer, o.Connections)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < o.Concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := dialer.Clone()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(conns) || ctx.Err() != nil {
					return
				}
				c, err := d.Dial(ctx, o.clientID("c", i))
				if err != nil {
					cancel(fmt.Errorf("connection %d of %d: %w", i+1, len(conns), err))
					return
				}
				conns[i] = c
			}
		}()
	}
	wg.Wait()
	opened := conns[:0]
	for _, c := range conns {
		if c != nil {
			opened = append(opened, c)
		}
	}
	if err := context.Cause(ctx); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("opened %d of %d connections before the timeout", len(opened), len(conns))
		}
		return opened, err
	}
	return opened, nil
}

func closeAll(conns []io.Closer) {
	for _, c := range conns {
		c.Close()
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
