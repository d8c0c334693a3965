package main

import (
	"context"
	"net"
	"runtime"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/mqttx/mqttx/internal/bench"
	"github.com/mqttx/mqttx/internal/broker/brokertest"
	"github.com/mqttx/mqttx/internal/mqttc"
	"github.com/mqttx/mqttx/internal/packet"
	"github.com/mqttx/mqttx/tools/harness"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestScenariosAgainstEngine runs every load scenario, small and bounded, against our
// broker engine in-process: every message published arrives, in order, exactly once.
func TestScenariosAgainstEngine(t *testing.T) {
	addr := brokertest.Start(t)
	ctx := context.Background()
	for _, v := range []packet.Version{packet.V311, packet.V5} {
		for _, qos := range []byte{0, 1} {
			for _, sc := range []struct {
				name string
				run  func(context.Context, harness.Options) (*harness.Summary, error)
				subs int64
			}{{"fan-in", harness.FanIn, 1}, {"fan-out", harness.FanOut, 10}} {
				s, err := sc.run(ctx, harness.Options{Addr: addr, QoS: qos, Messages: 3000, Window: 30, Conn: bench.ConnOptions{Client: mqttc.Options{Version: v}}, Timeout: 30 * time.Second})
				if err != nil {
					t.Fatalf("%s v%v QoS %d: %v", sc.name, v, qos, err)
				}
				if s.Delivered != 3000 || s.Published*sc.subs != s.Delivered || s.OutOfOrder != 0 {
					t.Errorf("%s v%v QoS %d: published %d, delivered %d, out of order %d", sc.name, v, qos, s.Published, s.Delivered, s.OutOfOrder)
				}
				if qos == 1 && s.Acked != s.Published {
					t.Errorf("%s v%v QoS 1: acked %d of %d", sc.name, v, s.Acked, s.Published)
				}
				if s.Latency == nil || s.Latency.Count != s.Delivered {
					t.Errorf("%s v%v QoS %d: latency histogram %+v", sc.name, v, qos, s.Latency)
				}
			}
		}
	}
	s, err := harness.Latency(ctx, harness.Options{Addr: addr, QoS: 1, Messages: 100, Rate: 2000, Timeout: 30 * time.Second})
	if err != nil || s.Delivered != 100 || s.Latency == nil {
		t.Fatalf("Latency: %v, %+v", err, s)
	}
	c, err := harness.ConnectRate(ctx, harness.Options{Addr: addr, Connections: 300, Timeout: 30 * time.Second})
	if err != nil || c.Connections != 300 {
		t.Fatalf("ConnectRate: %v, %+v", err, c)
	}
	i, err := harness.IdleConns(ctx, harness.Options{Addr: addr, Connections: 300, Settle: time.Millisecond, Timeout: 30 * time.Second})
	if err != nil || i.Connections != 300 {
		t.Fatalf("IdleConns: %v, %+v", err, i)
	}
}

// TestFloorAnswersConnect checks both -floor servers: every protocol version gets a
// CONNACK accepting it, from many concurrent dialers.
func TestFloorAnswersConnect(t *testing.T) {
	floors := map[string]func(net.Listener, <-chan struct{}) error{
		"goroutine": func(ln net.Listener, _ <-chan struct{}) error { return serveFloor(ln) },
	}
	if runtime.GOOS == "linux" {
		floors["epoll"] = serveEpollFloor
	}
	for name, serve := range floors {
		t.Run(name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			stop := make(chan struct{})
			done := make(chan error, 1)
			go func() { done <- serve(ln, stop) }()
			for _, v := range []packet.Version{packet.V31, packet.V311, packet.V5} {
				c, err := harness.ConnectRate(context.Background(), harness.Options{Addr: ln.Addr().String(), Connections: 50, Conn: bench.ConnOptions{Client: mqttc.Options{Version: v}}, Timeout: 30 * time.Second})
				if err != nil || c.Connections != 50 {
					t.Fatalf("ConnectRate v%v against the %s floor: %v, %+v", v, name, err, c)
				}
			}
			close(stop)
			ln.Close()
			<-done
		})
	}
}

func TestFloorConnack(t *testing.T) {
	for _, tc := range []struct {
		v    packet.Version
		want []byte
	}{{packet.V31, connackV3}, {packet.V311, connackV3}, {packet.V5, connackV5}} {
		b, err := (&packet.Connect{ClientID: "c", CleanStart: true}).AppendTo(nil, tc.v)
		if err != nil {
			t.Fatal(err)
		}
		if got := floorConnack(b); string(got) != string(tc.want) {
			t.Errorf("v%v: CONNACK % x, want % x", tc.v, got, tc.want)
		}
		if got := floorConnack(b[:len(b)-len("c")-4]); tc.v != packet.V31 && got == nil {
			t.Errorf("v%v: no CONNACK for a CONNECT cut after its protocol level", tc.v)
		}
	}
	for _, b := range [][]byte{nil, {0x10}, {0x30, 2, 0, 0}, {0x10, 0xff}, {0x10, 10, 0, 4, 'M'}} {
		if got := floorConnack(b); got != nil {
			t.Errorf("floorConnack(% x) = % x, want nil", b, got)
		}
	}
}
