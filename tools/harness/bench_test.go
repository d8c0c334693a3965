package harness

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/mqttx/mqttx/internal/bench"
	"github.com/mqttx/mqttx/internal/mosquittotest"
	"github.com/mqttx/mqttx/internal/mqttc"
	"github.com/mqttx/mqttx/internal/packet"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// selfPID stands in for the broker's process id (mosquittotest does not expose it): the
// figures mean nothing, but the sampling code runs against a live /proc entry.
func selfPID() int { return os.Getpid() }

func checkPubSub(t *testing.T, s *Summary, wantDelivered int64, subs int) {
	t.Helper()
	if s.Delivered != wantDelivered {
		t.Errorf("delivered %d, want %d", s.Delivered, wantDelivered)
	}
	if s.Published*int64(subs) != s.Delivered {
		t.Errorf("published %d x %d subscribers != delivered %d", s.Published, subs, s.Delivered)
	}
	if s.QoS > 0 && s.Acked != s.Published {
		t.Errorf("acked %d, want %d (published)", s.Acked, s.Published)
	}
	if s.OutOfOrder != 0 {
		t.Errorf("%d messages out of order", s.OutOfOrder)
	}
	if s.Latency == nil || s.Latency.Count != s.Delivered {
		t.Errorf("latency histogram %+v, want %d samples", s.Latency, s.Delivered)
	}
	if s.Latency != nil && (s.Latency.P50 > s.Latency.P99 || s.Latency.P99 > s.Latency.Max) {
		t.Errorf("latency quantiles out of order: %+v", s.Latency)
	}
	if s.Version != "3.1.1" && s.Version != "5" {
		t.Errorf("mqtt_version %q", s.Version)
	}
	if s.MsgsPerSec <= 0 {
		t.Errorf("msgs/s %v, want > 0", s.MsgsPerSec)
	}
}

// startMosquitto starts a broker whose queues hold a whole test run: mosquitto reads one
// packet per socket per loop, so under fan-in a subscriber's acknowledgements lag its
// deliveries far beyond any client-side window, and the default 1000-message queue would
// drop messages.
func startMosquitto(t *testing.T, opts ...mosquittotest.Option) string {
	return mosquittotest.Start(t, append(opts, mosquittotest.WithConfig("max_queued_messages 1000000"))...)
}

func TestFanInFanOut(t *testing.T) {
	addr := startMosquitto(t)
	for _, qos := range []byte{0, 1} {
		for _, v := range []packet.Version{packet.V311, packet.V5} {
			t.Run("fan-in", func(t *testing.T) {
				s, err := FanIn(context.Background(), Options{Addr: addr, PID: selfPID(), QoS: qos, Messages: 2000, Window: 20, Conn: bench.ConnOptions{Client: mqttc.Options{Version: v}}, Timeout: 30 * time.Second})
				if err != nil {
					t.Fatalf("FanIn qos %d v%v: %v", qos, v, err)
				}
				checkPubSub(t, s, 2000, 1)
				if s.Publishers != 10 || s.Subscribers != 1 {
					t.Errorf("publishers/subscribers %d/%d, want 10/1", s.Publishers, s.Subscribers)
				}
				if s.CPUPerMsgUs < 0 {
					t.Errorf("negative CPU per message %v", s.CPUPerMsgUs)
				}
			})
			t.Run("fan-out", func(t *testing.T) {
				s, err := FanOut(context.Background(), Options{Addr: addr, QoS: qos, Messages: 2000, Conn: bench.ConnOptions{Client: mqttc.Options{Version: v}}, Timeout: 30 * time.Second})
				if err != nil {
					t.Fatalf("FanOut qos %d v%v: %v", qos, v, err)
				}
				checkPubSub(t, s, 2000, 10)
				if s.Publishers != 1 || s.Subscribers != 10 {
					t.Errorf("publishers/subscribers %d/%d, want 1/10", s.Publishers, s.Subscribers)
				}
			})
		}
	}
}

func TestLatency(t *testing.T) {
	addr := startMosquitto(t)
	start := time.Now()
	s, err := Latency(context.Background(), Options{Addr: addr, QoS: 1, Messages: 200, Rate: 1000, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatalf("Latency: %v", err)
	}
	checkPubSub(t, s, 200, 1)
	// 200 messages at 1000/s cannot take less than ~199ms: the pacing works.
	if d := time.Since(start); d < 190*time.Millisecond {
		t.Errorf("200 messages at 1000/s took %v, want at least 190ms", d)
	}
}

func TestLatencyFanIn(t *testing.T) {
	addr := startMosquitto(t)
	start := time.Now()
	s, err := LatencyFanIn(context.Background(), Options{Addr: addr, QoS: 1, Messages: 200, Rate: 1000, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatalf("LatencyFanIn: %v", err)
	}
	if s.Publishers != 10 {
		t.Errorf("publishers %d, want the default 10", s.Publishers)
	}
	checkPubSub(t, s, 200, 1)
	// 10 publishers x 20 messages at 100/s each cannot take less than ~190ms: the rate
	// is shared, not given to each publisher.
	if d := time.Since(start); d < 180*time.Millisecond {
		t.Errorf("200 messages at 10 x 100/s took %v, want at least 180ms", d)
	}
}

func TestIdleConnsAndConnectRate(t *testing.T) {
	addr := startMosquitto(t)
	s, err := IdleConns(context.Background(), Options{Addr: addr, PID: selfPID(), Connections: 200, Concurrency: 3, Settle: 10 * time.Millisecond, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatalf("IdleConns: %v", err)
	}
	if s.Connections != 200 || s.RSSBefore <= 0 || s.RSSAfter <= 0 {
		t.Errorf("IdleConns summary %+v: want 200 connections and both RSS samples", s)
	}
	c, err := ConnectRate(context.Background(), Options{Addr: addr, PID: selfPID(), Connections: 300, Concurrency: 4, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatalf("ConnectRate: %v", err)
	}
	if c.Connections != 300 || c.ConnsPerSec <= 0 {
		t.Errorf("ConnectRate summary %+v: want 300 connections at a positive rate", c)
	}
	// Through a Dial function (the path for TLS and WebSocket), and MQTT 5 on the raw path.
	dials := 0
	var mu sync.Mutex
	dial := func(ctx context.Context, a string) (net.Conn, error) {
		mu.Lock()
		dials++
		mu.Unlock()
		var d net.Dialer
		return d.DialContext(ctx, "tcp", a)
	}
	if _, err := ConnectRate(context.Background(), Options{Addr: addr, Connections: 50, Conn: bench.ConnOptions{Dial: dial}, Timeout: 30 * time.Second}); err != nil {
		t.Fatalf("ConnectRate through a Dial function: %v", err)
	}
	if dials != 50 {
		t.Errorf("Dial called %d times, want 50", dials)
	}
	if _, err := ConnectRate(context.Background(), Options{Addr: addr, Connections: 50, Conn: bench.ConnOptions{Client: mqttc.Options{Version: packet.V5}}, Timeout: 30 * time.Second}); err != nil {
		t.Fatalf("ConnectRate MQTT 5: %v", err)
	}
}

func TestConnectRefused(t *testing.T) {
	addr := startMosquitto(t, mosquittotest.WithUser("u", "p"))
	for _, v := range []packet.Version{packet.V311, packet.V5} {
		_, err := ConnectRate(context.Background(), Options{Addr: addr, Connections: 5, Conn: bench.ConnOptions{Client: mqttc.Options{Version: v}}, Timeout: 10 * time.Second})
		var refused *mqttc.RefusedError
		if !errors.As(err, &refused) || refused.Op != "connect" {
			t.Errorf("ConnectRate v%v without credentials: err %v, want a *mqttc.RefusedError", v, err)
		}
		s, err := ConnectRate(context.Background(), Options{Addr: addr, Connections: 5, Conn: bench.ConnOptions{Client: mqttc.Options{Version: v, Username: "u", Password: "p"}}, Timeout: 10 * time.Second})
		if err != nil || s.Connections != 5 {
			t.Errorf("ConnectRate v%v with credentials: %v, %+v", v, err, s)
		}
	}
}

func TestRefusedAndUnreachable(t *testing.T) {
	addr := startMosquitto(t, mosquittotest.WithUser("u", "p"))
	_, err := FanIn(context.Background(), Options{Addr: addr, Messages: 100, Timeout: 10 * time.Second})
	var refused *mqttc.RefusedError
	if !errors.As(err, &refused) {
		t.Fatalf("FanIn against a broker requiring a password: %v, want a *mqttc.RefusedError", err)
	}
	t.Logf("refused: %v", err)
	s, err := FanIn(context.Background(), Options{Addr: addr, Messages: 100, Conn: bench.ConnOptions{Client: mqttc.Options{Username: "u", Password: "p"}}, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatalf("FanIn with credentials: %v", err)
	}
	checkPubSub(t, s, 100, 1)

	_, err = IdleConns(context.Background(), Options{Addr: "127.0.0.1:1", Connections: 3, Timeout: 5 * time.Second})
	if err == nil {
		t.Fatal("IdleConns against a closed port succeeded")
	}
}

func TestOptionsValidation(t *testing.T) {
	tests := []struct {
		name string
		o    Options
	}{
		{"no address", Options{}},
		{"qos 2", Options{Addr: "x:1", QoS: 2}},
		{"tiny payload", Options{Addr: "x:1", PayloadSize: 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := FanIn(context.Background(), tt.o); err == nil {
				t.Errorf("FanIn(%+v) succeeded, want an error", tt.o)
			}
		})
	}
}

func TestParseProc(t *testing.T) {
	stat := []byte("1234 (my (odd) name) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 37 0 0 20 0 1 0 100 1000 50\n")
	got, err := parseStatCPU(stat)
	if err != nil || got != 2870*time.Millisecond {
		t.Errorf("parseStatCPU = %v, %v; want 2.87s", got, err)
	}
	if _, err := parseStatCPU([]byte("garbage")); err == nil {
		t.Error("parseStatCPU(garbage) succeeded")
	}
	status := []byte("Name:\tx\nVmPeak:\t  100 kB\nVmRSS:\t    2048 kB\nThreads:\t1\n")
	rss, err := parseStatusRSS(status)
	if err != nil || rss != 2048*1024 {
		t.Errorf("parseStatusRSS = %d, %v; want 2 MiB", rss, err)
	}
	if _, err := parseStatusRSS([]byte("Name:\tx\n")); err == nil {
		t.Error("parseStatusRSS without VmRSS succeeded")
	}
	if _, err := ProcCPU(os.Getpid()); err != nil {
		t.Errorf("ProcCPU(self): %v", err)
	}
}

func TestSummarize(t *testing.T) {
	a, b := bench.NewHistogram(), bench.NewHistogram()
	for i := int64(1); i <= 100; i++ {
		bench.RecordLatency(a, i*1000) // 1..100 us
	}
	bench.RecordLatency(b, int64(10*time.Minute)) // clamped to the maximum
	s := bench.Summarize(a, b)
	if s.Count != 101 || s.P50 < 50 || s.P50 > 51 || s.Max < int64(59*time.Second/time.Microsecond) {
		t.Errorf("Summarize = %+v", s)
	}
	if bench.Summarize(bench.NewHistogram()) != nil {
		t.Error("Summarize of empty histograms is not nil")
	}
}

func TestSummaryText(t *testing.T) {
	tests := []struct {
		s    Summary
		want []string
	}{
		{Summary{Scenario: "fan-in", Delivered: 1000, Elapsed: time.Second, MsgsPerSec: 1000, BrokerCPU: 3 * time.Millisecond, CPUPerMsgUs: 3, ClientCPUPerMsgUs: 1, Latency: &bench.LatencySummary{P50: 10, P99: 20, Max: 30}},
			[]string{"fan-in: ", "delivered 1000 in 1s (1000 msg/s)", "3.00 us/msg (load generator 1.00)", "p50 10us p99 20us max 30us"}},
		{Summary{Scenario: "idle-conns", Connections: 10, RSSBefore: 1 << 20, RSSAfter: 2 << 20, BytesPerConn: 1024},
			[]string{"RSS 1.0 -> 2.0 MiB, 1.00 KiB/conn"}},
		{Summary{Scenario: "connect-rate", Connections: 10, Elapsed: time.Second, ConnsPerSec: 10, CPUPerConnUs: 5, ClientCPUPerConnUs: 7},
			[]string{"10 conns in 1s (10/s, 5.0 us CPU each, load generator 7.0)"}},
	}
	for _, tt := range tests {
		got := tt.s.Text()
		for _, w := range tt.want {
			if !strings.Contains(got, w) {
				t.Errorf("Text() = %q, want it to contain %q", got, w)
			}
		}
	}
}

func TestLookup(t *testing.T) {
	for _, n := range Names() {
		run, err := Lookup(n)
		if err != nil || run == nil {
			t.Errorf("Lookup(%q) = %v", n, err)
			continue
		}
		// Each runner reports its own name; a missing address fails before any dial.
		if _, err := run(context.Background(), Options{}); err == nil || !strings.Contains(err.Error(), "Options.Addr") {
			t.Errorf("%s without an address: %v", n, err)
		}
	}
	if _, err := Lookup("fanin"); err == nil || !strings.Contains(err.Error(), "fan-in, fan-out") {
		t.Errorf("Lookup(fanin) error %v, want the list of names", err)
	}
}
