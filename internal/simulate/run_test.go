package simulate_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mqttx/mqttx/internal/bench"
	"github.com/mqttx/mqttx/internal/broker"
	"github.com/mqttx/mqttx/internal/broker/auth"
	"github.com/mqttx/mqttx/internal/broker/brokertest"
	"github.com/mqttx/mqttx/internal/mqttc"
	"github.com/mqttx/mqttx/internal/packet"
	"github.com/mqttx/mqttx/internal/simulate"
)

type received struct {
	topic   string
	payload []byte
}

// subscribe connects a subscriber to filter on addr and returns a channel of what it
// receives; it is closed with the test.
func subscribe(t *testing.T, addr, filter string) <-chan received {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := bench.Dial(ctx, addr, bench.ConnOptions{Client: mqttc.Options{ClientID: "watcher", Version: packet.V5}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Subscribe(ctx, filter, 1); err != nil {
		t.Fatal(err)
	}
	ch := make(chan received, 1024)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(ch)
		for {
			h, body, err := c.ReadRaw()
			if err != nil {
				return
			}
			if h.Type != packet.PUBLISH {
				continue
			}
			var p packet.Publish
			if err := p.DecodeInto(h.First(), body, packet.V5); err != nil {
				t.Errorf("decode PUBLISH: %v", err)
				return
			}
			if p.QoS > 0 {
				_ = c.Ack(packet.PUBACK, p.PacketID)
				_ = c.Flush()
			}
			ch <- received{string(p.Topic), append([]byte(nil), p.Payload...)}
		}
	}()
	t.Cleanup(func() { c.Close(); <-done })
	return ch
}

// noDeviceGoroutines fails t if a goroutine of this package's runner or transport
// (or the bench client under it) outlives Run.
func noDeviceGoroutines(t *testing.T) {
	t.Helper()
	buf := make([]byte, 1<<20)
	deadline := time.Now().Add(5 * time.Second)
	for {
		stacks := string(buf[:runtime.Stack(buf, true)])
		var leaked []string
		for _, g := range strings.Split(stacks, "\n\n") {
			if strings.Contains(g, "internal/simulate.") && !strings.Contains(g, "simulate_test.") || strings.Contains(g, "internal/bench.(*Conn)") && !strings.Contains(g, "simulate_test.subscribe") {
				leaked = append(leaked, g)
			}
		}
		if len(leaked) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines outlive Run:\n%s", len(leaked), strings.Join(leaked, "\n\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func transport(t *testing.T, addr string, v mqttc.Version) simulate.Transport {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	var p int
	for _, c := range port {
		p = p*10 + int(c-'0')
	}
	return &simulate.BenchTransport{Options: mqttc.Options{Host: host, Port: p, Version: v, KeepAlive: 30}}
}

// TestBuiltinsAgainstBroker runs every built-in against the real broker with a bounded
// count and checks that a subscriber receives every message, as JSON, on the
// scenario's topics, at QoS 0, 1 and 2 and each protocol version.
func TestBuiltinsAgainstBroker(t *testing.T) {
	versions := []mqttc.Version{mqttc.V5, mqttc.V311, mqttc.V31}
	for i, name := range builtins {
		t.Run(name, func(t *testing.T) {
			addr := brokertest.Start(t)
			msgs := subscribe(t, addr, "#")
			qos := byte(i % 3)
			const devices, limit = 4, 12
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			s, err := simulate.Run(ctx, simulate.Options{
				OnProgress: func(simulate.Progress) {},
				Scenario:   builtin(t, name),
				Devices:    devices,
				Interval:   20 * time.Millisecond,
				Limit:      limit,
				QoS:        qos,
				Seed:       1,
				ClientID:   "sim",
				Transport:  transport(t, addr, versions[i%3]),
			})
			if err != nil {
				t.Fatal(err)
			}
			if s.Published != limit || s.Failed != 0 {
				t.Fatalf("summary %+v, want %d published, none failed", s, limit)
			}
			// Every device's goroutines are gone once Run returns (the in-process broker's
			// own may take a moment longer, and are not the concern here).
			noDeviceGoroutines(t)
			if qos > 0 && s.Acked != limit {
				t.Errorf("acked %d at QoS %d, want %d", s.Acked, qos, limit)
			}
			perTopic := map[string]int{}
			for n := 0; n < limit; n++ {
				select {
				case m := <-msgs:
					if !json.Valid(m.payload) {
						t.Fatalf("payload on %s is not JSON: %s", m.topic, m.payload)
					}
					perTopic[m.topic]++
				case <-ctx.Done():
					t.Fatalf("received %d of %d messages", n, limit)
				}
			}
			if len(perTopic) != devices {
				t.Errorf("topics %v, want one per device", perTopic)
			}
			if name == "sensor" {
				for topic := range perTopic {
					if !strings.HasPrefix(topic, "sensor/") || !strings.HasSuffix(topic, "/temperature") {
						t.Errorf("sensor topic %q", topic)
					}
				}
			}
		})
	}
}

// TestRefusedConnect checks that a refused CONNACK ends the run before anything is
// published, as a *mqttc.RefusedError carrying the reason code (exit code 3).
func TestRefusedConnect(t *testing.T) {
	hash, err := auth.HashPassword([]byte("s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	users, err := auth.ParseUsers([]byte("alice:" + hash + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	// The watcher gives no username (anonymous is allowed); mallory is no user.
	addr := brokertest.Start(t, func(o *broker.Options) {
		o.Authorizer = &auth.Policy{Users: users, AllowAnonymous: true}
	})
	msgs := subscribe(t, addr, "#")
	tr := transport(t, addr, mqttc.V5).(*simulate.BenchTransport)
	tr.Options.Username = "mallory"
	_, err = simulate.Run(context.Background(), simulate.Options{
		Scenario: builtin(t, "sensor"), Devices: 3, Limit: 3, ClientID: "refused", Transport: tr,
	})
	var re *mqttc.RefusedError
	if !errors.As(err, &re) || re.Op != "connect" || re.Code < 0x80 {
		t.Fatalf("error %v (%T), want a refused connect", err, err)
	}
	if !strings.Contains(err.Error(), "device ") {
		t.Errorf("error %q does not name the device", err)
	}
	tr.Options.Username, tr.Options.Password, tr.Options.HasPassword = "alice", "s3cret", true
	if _, err := simulate.Run(context.Background(), simulate.Options{
		Scenario: builtin(t, "sensor"), Devices: 1, Limit: 1, ClientID: "allowed", Transport: tr,
	}); err != nil {
		t.Fatal(err)
	}
	// The refused run published nothing: the first message is the allowed device's.
	m := <-msgs
	if m.topic != "sensor/1/temperature" {
		t.Errorf("first message on %q", m.topic)
	}
	select {
	case m := <-msgs:
		t.Errorf("unexpected message on %q", m.topic)
	default:
	}
}

// TestReconnect stops the broker under running devices and starts one on the same
// address: every device reconnects and publishing resumes on the new broker.
func TestReconnect(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	first := broker.New(broker.Options{})
	served := make(chan error, 1)
	go func() { served <- first.Serve(ln) }()

	const devices = 3
	var mu sync.Mutex
	lost, back := 0, 0
	allLost, allBack := make(chan struct{}), make(chan struct{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	done := make(chan error, 1)
	var summary *simulate.Summary
	go func() {
		s, err := simulate.Run(ctx, simulate.Options{
			Scenario: builtin(t, "sensor"), Devices: devices, Interval: 10 * time.Millisecond, Seed: 1,
			ClientID: "rc", Transport: transport(t, addr, mqttc.V5),
			OnEvent: func(e simulate.Event) {
				mu.Lock()
				defer mu.Unlock()
				switch e.Type {
				case "connection_lost":
					if lost++; lost == devices {
						close(allLost)
					}
				case "reconnected":
					if back++; back == devices {
						close(allBack)
					}
				}
			},
		})
		summary = s
		done <- err
	}()

	// Wait until the devices publish on the first broker, then stop it.
	func() {
		sub := subscribe(t, addr, "sensor/#")
		select {
		case <-sub:
		case <-ctx.Done():
			t.Fatal("no message from the first broker")
		}
	}()
	sctx, scancel := context.WithTimeout(ctx, 5*time.Second)
	defer scancel()
	if err := first.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	if err := <-served; err != nil && !errors.Is(err, broker.ErrServerClosed) {
		t.Fatal(err)
	}
	select {
	case <-allLost:
	case <-ctx.Done():
		t.Fatal("devices did not notice the broker going away")
	}

	ln2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	second := broker.New(broker.Options{})
	go func() { served <- second.Serve(ln2) }()
	t.Cleanup(func() {
		c, cc := context.WithTimeout(context.Background(), 5*time.Second)
		defer cc()
		_ = second.Shutdown(c)
		<-served
	})
	select {
	case <-allBack:
	case <-ctx.Done():
		t.Fatal("devices did not reconnect")
	}
	sub := subscribe(t, addr, "sensor/#")
	seen := map[string]bool{}
	for len(seen) < devices {
		select {
		case m := <-sub:
			seen[m.topic] = true
		case <-ctx.Done():
			t.Fatalf("after reconnecting, heard from %d of %d devices", len(seen), devices)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	if summary.Reconnects != devices {
		t.Errorf("summary reconnects %d, want %d", summary.Reconnects, devices)
	}
}
