package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/mqttx/mqttx/internal/broker"
	"github.com/mqttx/mqttx/internal/broker/brokertest"
	"github.com/mqttx/mqttx/internal/broker/listener/listenertest"
	"github.com/mqttx/mqttx/internal/mosquittotest"
	"github.com/mqttx/mqttx/internal/mqttc"
	"github.com/mqttx/mqttx/internal/packet"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// brokers are the two brokers every run is checked against.
func brokers(t *testing.T) map[string]string {
	return map[string]string{
		"serve":     brokertest.Start(t),
		"mosquitto": mosquittotest.Start(t, mosquittotest.WithConfig("max_queued_messages 100000")),
	}
}

func cfg(cmd, addr string, v packet.Version) Config {
	return Config{
		Parameters: Parameters{Command: cmd, Broker: addr, Count: 1, ClientID: fmt.Sprintf("bt-%s-%d-", cmd, time.Now().UnixNano()%1e6)},
		Conn:       ConnOptions{Client: mqttc.Options{Version: v, CleanStart: true}},
	}
}

func TestPubWithSubscribers(t *testing.T) {
	for name, addr := range brokers(t) {
		for _, v := range []packet.Version{packet.V311, packet.V5} {
			for qos := range 3 {
				t.Run(fmt.Sprintf("%s/v%v/qos%d", name, v, qos), func(t *testing.T) {
					c := cfg("pub", addr, v)
					c.Count, c.Subscribers, c.Limit, c.Size, c.QoS, c.Inflight = 3, 2, 300, 64, qos, 10
					c.Topic = fmt.Sprintf("bt/%s/%d/%d/%%i/%%s", name, v, qos)
					s, err := Run(context.Background(), c)
					if err != nil {
						t.Fatalf("Run: %v", err)
					}
					if s.Published != 300 || s.Received != 600 || s.Stamped != 600 {
						t.Errorf("published %d received %d stamped %d, want 300, 600, 600", s.Published, s.Received, s.Stamped)
					}
					if want := int64(0); qos > 0 {
						want = 300
						if s.Acked != want {
							t.Errorf("acked %d, want %d", s.Acked, want)
						}
					}
					if s.Lost != 0 || s.Duplicates != 0 || s.OutOfOrder != 0 {
						t.Errorf("lost %d duplicates %d out of order %d, want none", s.Lost, s.Duplicates, s.OutOfOrder)
					}
					if s.Latency == nil || s.Latency.Count != 600 || s.Latency.P50 > s.Latency.P99 || s.Latency.P99 > s.Latency.Max {
						t.Errorf("latency %+v, want 600 ordered samples", s.Latency)
					}
					if s.Connections.Connected != 5 || s.Connections.Latency == nil || s.Connections.Latency.Count != 5 {
						t.Errorf("connections %+v, want 5 with latency", s.Connections)
					}
					if s.Parameters.Version != v.String() || len(s.Errors) != 0 {
						t.Errorf("version %q errors %v", s.Parameters.Version, s.Errors)
					}
				})
			}
		}
	}
}

// untilProgress returns an OnProgress that cancels the run once done says so.
func untilProgress(cancel context.CancelFunc, done func(Progress) bool) func(Progress) {
	var once sync.Once
	return func(p Progress) {
		if done(p) {
			once.Do(cancel)
		}
	}
}

func TestConnHoldsUntilCancelled(t *testing.T) {
	for name, addr := range brokers(t) {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			run, stop := context.WithCancel(ctx)
			defer stop()
			c := cfg("conn", addr, packet.V5)
			c.Count, c.ConnectRate = 40, 2000
			c.Conn.Client.KeepAlive = 1 // the pinger keeps them open past 1.5s
			c.ProgressEvery = 10 * time.Millisecond
			pings := 0
			c.OnProgress = untilProgress(stop, func(p Progress) bool {
				if p.Connected == 40 {
					pings++
				}
				return pings > 200 // >2s held: longer than 1.5 keep alive periods
			})
			s, err := Run(run, c)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if s.Connections.Connected != 40 || s.Connections.Failed != 0 || len(s.Errors) != 0 {
				t.Errorf("connections %+v errors %v, want 40 held", s.Connections, s.Errors)
			}
		})
	}
}

func TestRefusedStopsWithRefusedError(t *testing.T) {
	addr := mosquittotest.Start(t, mosquittotest.WithUser("u", "p"))
	for _, cmd := range []string{"conn", "pub", "sub"} {
		for _, v := range []packet.Version{packet.V311, packet.V5} {
			t.Run(fmt.Sprintf("%s/v%v", cmd, v), func(t *testing.T) {
				c := cfg(cmd, addr, v)
				c.Count, c.Topic, c.Topics, c.Limit = 20, "t", []string{"t"}, 10
				s, err := Run(context.Background(), c)
				var refused *mqttc.RefusedError
				if !errors.As(err, &refused) || refused.Op != "connect" {
					t.Fatalf("Run without credentials: %v, want a *mqttc.RefusedError", err)
				}
				// It stops at the first refusal instead of trying every connection.
				if s == nil || s.Connections.Connected != 0 || s.Connections.Attempted >= 20 {
					t.Errorf("summary %+v, want no connection and fewer than 20 attempts", s)
				}
				c.Conn.Client.Username, c.Conn.Client.Password = "u", "p"
				if cmd != "pub" {
					c.Duration = 50 * time.Millisecond // only the connect phase matters
				}
				s, err = Run(context.Background(), c)
				if cmd == "pub" && (err != nil || s.Published != 10) {
					t.Errorf("with credentials: %v, published %d", err, s.Published)
				}
			})
		}
	}
}

func TestSharedSubscription(t *testing.T) {
	for name, addr := range brokers(t) {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			subCtx, stopSub := context.WithCancel(ctx)
			sc := cfg("sub", addr, packet.V5)
			sc.Count, sc.Topics, sc.Share, sc.QoS = 3, []string{"bs/" + name + "/+"}, "g", 1
			sc.ProgressEvery = 10 * time.Millisecond
			subscribed := make(chan struct{})
			var once sync.Once
			sc.OnProgress = func(p Progress) {
				if p.Connected == 3 {
					once.Do(func() { close(subscribed) })
				}
				if p.Received >= 200 {
					stopSub()
				}
			}
			type result struct {
				s   *Summary
				err error
			}
			res := make(chan result, 1)
			go func() {
				s, err := Run(subCtx, sc)
				res <- result{s, err}
			}()
			select {
			case <-subscribed:
			case <-ctx.Done():
				t.Fatal("subscribers did not connect")
			}
			pc := cfg("pub", addr, packet.V5)
			pc.Count, pc.Limit, pc.QoS, pc.Topic = 2, 200, 1, "bs/"+name+"/%i"
			ps, err := Run(ctx, pc)
			if err != nil || ps.Published != 200 || ps.Acked != 200 {
				t.Fatalf("pub: %v, %+v", err, ps)
			}
			r := <-res
			if r.err != nil {
				t.Fatalf("sub: %v", r.err)
			}
			if r.s.Received != 200 || r.s.Lost != 0 || r.s.Duplicates != 0 {
				t.Errorf("shared group received %d, lost %d, duplicates %d; want 200, 0, 0", r.s.Received, r.s.Lost, r.s.Duplicates)
			}
		})
	}
}

func TestWebSocketThroughSharedDialer(t *testing.T) {
	// mosquitto 2.0's WebSocket listener does not resume a subscriber's queue when its
	// inflight window frees, so the window must hold the whole run.
	b := mosquittotest.StartBroker(t, mosquittotest.WithWebSocket(), mosquittotest.WithConfig("max_inflight_messages 1000"))
	c := cfg("pub", b.WSAddr, packet.V311)
	c.Conn.Client.Scheme = "ws"
	c.Count, c.Subscribers, c.Limit, c.QoS, c.Topic = 2, 1, 100, 2, "ws/%i"
	s, err := Run(context.Background(), c)
	if err != nil {
		t.Fatalf("Run over ws: %v", err)
	}
	if s.Received != 100 || s.Acked != 100 || s.Lost != 0 {
		t.Errorf("over ws: received %d acked %d lost %d, want 100, 100, 0", s.Received, s.Acked, s.Lost)
	}
}

func TestRateLimitsPublishing(t *testing.T) {
	addr := brokertest.Start(t)
	c := cfg("pub", addr, packet.V5)
	c.Count, c.Rate, c.Limit, c.Topic = 2, 400, 100, "rate/%i"
	start := time.Now()
	s, err := Run(context.Background(), c)
	if err != nil || s.Published != 100 {
		t.Fatalf("Run: %v, published %d", err, s.Published)
	}
	// 100 messages at 400/s cannot go out in less than about 250ms: the pacing holds.
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Errorf("100 messages at 400/s took %v", d)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []Config{
		{Parameters: Parameters{Command: "x", Broker: "a:1", Count: 1, ClientID: "c"}},
		{Parameters: Parameters{Command: "pub", Broker: "a:1", Count: 1, ClientID: "c"}},
		{Parameters: Parameters{Command: "sub", Broker: "a:1", Count: 1, ClientID: "c"}},
		{Parameters: Parameters{Command: "conn", Broker: "a:1", Count: 0, ClientID: "c"}},
		{Parameters: Parameters{Command: "pub", Broker: "a:1", Count: 1, ClientID: "c", Topic: "t", QoS: 3}},
		{Parameters: Parameters{Command: "sub", Broker: "a:1", Count: 1, ClientID: "c", Topics: []string{"t/%s"}}},
	} {
		if _, err := Run(context.Background(), c); err == nil {
			t.Errorf("Run(%+v) succeeded, want an error", c.Parameters)
		}
	}
}

func TestSourceAddresses(t *testing.T) {
	b := mosquittotest.StartBroker(t)
	for _, cmd := range []string{"conn", "pub"} {
		t.Run(cmd, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			c := cfg(cmd, b.Addr, packet.V311)
			c.Count, c.Topic, c.Limit = 4, "src/%i", 4
			c.LocalAddrs = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv4(127, 0, 0, 2)}
			c.ProgressEvery = 10 * time.Millisecond
			c.OnProgress = untilProgress(cancel, func(p Progress) bool { return p.Connected == 4 })
			s, err := Run(ctx, c)
			if err != nil || s.Connections.Connected != 4 {
				t.Fatalf("Run: %v, %+v", err, s)
			}
		})
	}
	log, err := os.ReadFile(b.LogFile)
	if err != nil {
		t.Fatal(err)
	}
	// 127.0.0.1 also carries mosquittotest's readiness probe.
	if n := strings.Count(string(log), "New connection from 127.0.0.2:"); n != 4 {
		t.Errorf("%d connections from 127.0.0.2, want 4 (2 per run)", n)
	}
	if n := strings.Count(string(log), "New connection from 127.0.0.1:"); n < 4 {
		t.Errorf("%d connections from 127.0.0.1, want at least 4", n)
	}
}

// TestTLSThroughSharedDialer runs pub, sub and the idle connections of conn over mqtts
// with the CA given as the client commands take it.
func TestTLSThroughSharedDialer(t *testing.T) {
	pki := listenertest.New(t)
	b := mosquittotest.StartBroker(t, mosquittotest.WithTLS(mosquittotest.TLSListener{CertFile: pki.ServerCert, KeyFile: pki.ServerKey}))
	for _, cmd := range []string{"pub", "conn"} {
		t.Run(cmd, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			c := cfg(cmd, b.TLSAddr, packet.V5)
			c.Conn.Client.Scheme, c.Conn.Client.TLS.CAFile = "mqtts", pki.CAFile
			c.Count, c.Subscribers, c.Limit, c.QoS, c.Topic = 2, 1, 100, 1, "tls/%i"
			if cmd == "conn" {
				c.ProgressEvery = 10 * time.Millisecond
				c.OnProgress = untilProgress(cancel, func(p Progress) bool { return p.Connected == 2 })
			}
			s, err := Run(ctx, c)
			if err != nil {
				t.Fatalf("Run over mqtts: %v", err)
			}
			if cmd == "pub" && (s.Received != 100 || s.Acked != 100 || s.Lost != 0) {
				t.Errorf("over mqtts: received %d acked %d lost %d, want 100, 100, 0", s.Received, s.Acked, s.Lost)
			}
			if s.Connections.Connected != int64(c.Count+c.Subscribers*btoi(cmd == "pub")) {
				t.Errorf("connected %d", s.Connections.Connected)
			}
		})
	}
	// Without the CA, verification fails: counted by reason, and the run fails.
	c := cfg("conn", b.TLSAddr, packet.V5)
	c.Conn.Client.Scheme = "mqtts"
	s, err := Run(context.Background(), c)
	if err == nil || s.Connections.Failed != 1 || len(s.Errors) != 1 {
		t.Errorf("mqtts without the CA: %v, %+v", err, s)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestWillAndSessionFromSharedSettings checks that a load connection's CONNECT carries
// the will and session settings of the shared flags: a connection that dies without
// DISCONNECT has its will published, on both brokers.
func TestWillAndSessionFromSharedSettings(t *testing.T) {
	for name, addr := range brokers(t) {
		for _, v := range []packet.Version{packet.V311, packet.V5} {
			t.Run(fmt.Sprintf("%s/v%v", name, v), func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				topic := fmt.Sprintf("bt/will/%s/%d/%d", name, v, time.Now().UnixNano())
				watcher, err := Dial(ctx, addr, ConnOptions{Client: mqttc.Options{Version: v, CleanStart: true, ClientID: "bt-will-watch"}})
				if err != nil {
					t.Fatal(err)
				}
				defer watcher.Close()
				if err := watcher.Subscribe(ctx, topic, 1); err != nil {
					t.Fatal(err)
				}
				expiry := uint32(60)
				dev, err := Dial(ctx, addr, ConnOptions{Client: mqttc.Options{
					Version: v, ClientID: "bt-will-dev", KeepAlive: 30, SessionExpiry: &expiry,
					Will: &mqttc.Will{Topic: topic, Payload: []byte("gone"), QoS: 1},
				}})
				if err != nil {
					t.Fatal(err)
				}
				dev.Close() // no DISCONNECT: the broker publishes the will
				_ = watcher.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
				for {
					h, body, err := watcher.ReadRaw()
					if err != nil {
						t.Fatalf("no will: %v", err)
					}
					if h.Type != packet.PUBLISH {
						continue
					}
					var p packet.Publish
					if err := p.DecodeInto(h.First(), body, v); err != nil {
						t.Fatal(err)
					}
					if string(p.Topic) != topic || string(p.Payload) != "gone" {
						t.Fatalf("got %q on %q, want the will", p.Payload, p.Topic)
					}
					return
				}
			})
		}
	}
}

// TestServerKeepAliveHonoured: a broker that lowers the keep alive in its CONNACK
// (MQTT 5 Server Keep Alive 1 s against our 30 s) closes connections that stay quiet
// for 1.5 s; the pinger follows the broker's value, so they are still held after that.
func TestServerKeepAliveHonoured(t *testing.T) {
	// mosquitto's max_keepalive starts at 10 s, too long for a test: serve only.
	addrs := map[string]string{"serve": brokertest.Start(t, func(o *broker.Options) { o.MaxKeepAlive = 1 })}
	for name, addr := range addrs {
		// sub: full connections notice the broker closing them (bench conn's idle
		// sockets would only at their next ping).
		for _, cmd := range []string{"sub"} {
			t.Run(name+"/"+cmd, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				run, stop := context.WithCancel(ctx)
				defer stop()
				c := cfg(cmd, addr, packet.V5)
				c.Count, c.Topics = 5, []string{"bt/ska"}
				c.Conn.Client.KeepAlive = 30
				c.ProgressEvery = 10 * time.Millisecond
				held := 0
				c.OnProgress = untilProgress(stop, func(p Progress) bool {
					if p.Connected == 5 {
						held++
					}
					return held > 250 // >2.5s: past 1.5 of the broker's keep alive
				})
				s, err := Run(run, c)
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
				if s.Connections.Connected != 5 || len(s.Errors) != 0 {
					t.Errorf("connections %+v errors %v, want 5 held", s.Connections, s.Errors)
				}
			})
		}
	}
}
