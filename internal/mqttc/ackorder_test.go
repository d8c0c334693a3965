package mqttc

import (
	"context"
	stdflag "flag"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mqttx/mqttx/internal/broker"
	"github.com/mqttx/mqttx/internal/broker/brokertest"
	"github.com/mqttx/mqttx/internal/mosquittotest"
)

var ackLoops = stdflag.Int("ackloops", 20, "iterations of TestAckBeforeDisconnect per broker, version and QoS")

// watchedBrokers are the brokers of the session-resumption tests, each started with a
// way to wait until it has finished with a client's old connection.
var watchedBrokers = []struct {
	name  string
	start func(testing.TB) (string, waitGone)
}{
	{"mosquitto", func(t testing.TB) (string, waitGone) {
		// Without TCP_NODELAY mosquitto holds small writes for the delayed ACK (40 ms).
		b := mosquittotest.StartBroker(t, mosquittotest.WithConfig("set_tcp_nodelay true"))
		return b.Addr, mosquittoGone(b)
	}},
	{"mqttx", func(t testing.TB) (string, waitGone) {
		w := &goneWatch{gone: map[string]chan struct{}{}}
		return brokertest.Start(t, func(o *broker.Options) { o.OnEvent = w.event }), w.wait
	}},
}

// TestAckBeforeDisconnect guards the acknowledgement of a message handed to OnMessage
// against a Disconnect that follows at once (what `sub -C 1` does): DISCONNECT must not
// overtake the PUBACK/PUBREC, or a persistent session redelivers the message on resume.
// The race is narrow, so each case loops, bounded by -ackloops and a deadline.
func TestAckBeforeDisconnect(t *testing.T) {
	for _, b := range watchedBrokers {
		t.Run(b.name, func(t *testing.T) {
			addr, gone := b.start(t)
			for _, v := range versions {
				for _, qos := range []byte{1, 2} {
					t.Run(fmt.Sprintf("%s/qos%d", v, qos), func(t *testing.T) {
						pub, _ := connect(t, baseOptions(t, addr, v))
						deadline := time.Now().Add(30 * time.Second)
						n, failed := 0, 0
						for ; n < *ackLoops && time.Now().Before(deadline); n++ {
							topic := fmt.Sprintf("ackorder/%s/%s/%d/%d", b.name, strings.ReplaceAll(v.String(), ".", "_"), qos, n)
							if err := ackOnce(t, addr, gone, v, qos, pub, topic); err != nil {
								failed++
								t.Errorf("iteration %d: %v", n, err)
							}
						}
						t.Logf("%d iterations, %d failed", n, failed)
					})
				}
			}
		})
	}
}

// ackOnce subscribes with a persistent session, disconnects right after the first
// message arrives, publishes three more while offline and checks that the resumed
// session delivers exactly those three, in order.
func ackOnce(t *testing.T, addr string, gone waitGone, v Version, qos byte, pub Client, topic string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	so := baseOptions(t, addr, v)
	so.CleanStart = false
	if v == V5 {
		exp := uint32(60)
		so.SessionExpiry = &exp
	}
	first := newInbox()
	so.OnMessage = first.handler
	sub, err := New(so)
	if err != nil {
		return err
	}
	if _, err := sub.Connect(ctx); err != nil {
		return err
	}
	defer sub.Disconnect(context.Background())
	if _, err := sub.Subscribe(ctx, []Subscription{{Topic: topic, QoS: qos}}, SubscribeOptions{}); err != nil {
		return err
	}
	if err := pub.Publish(ctx, Message{Topic: topic, QoS: qos, Payload: []byte("hello")}); err != nil {
		return err
	}
	select {
	case m := <-first:
		if string(m.Payload) != "hello" {
			return fmt.Errorf("first message = %q, want hello", m.Payload)
		}
	case <-ctx.Done():
		return fmt.Errorf("hello not received: %w", ctx.Err())
	}
	if err := sub.Disconnect(ctx); err != nil {
		return err
	}
	if err := gone(ctx, so.ClientID); err != nil {
		return err
	}

	want := []string{"one", "two", "three", "end"}
	for _, p := range want {
		if err := pub.Publish(ctx, Message{Topic: topic, QoS: qos, Payload: []byte(p)}); err != nil {
			return err
		}
	}
	in := newInbox()
	so.OnMessage = in.handler
	resumed, err := New(so)
	if err != nil {
		return err
	}
	if _, err := resumed.Connect(ctx); err != nil {
		return err
	}
	defer resumed.Disconnect(context.Background())
	var got []string
	for len(got) == 0 || got[len(got)-1] != "end" {
		select {
		case m := <-in:
			got = append(got, string(m.Payload))
		case <-ctx.Done():
			return fmt.Errorf("resumed session delivered %q, then nothing: %w", got, ctx.Err())
		}
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		return fmt.Errorf("resumed session delivered %q, want %q", got, want)
	}
	return resumed.Disconnect(ctx)
}

// waitGone returns once the broker has finished with the client's connection. The
// test waits for it before publishing more and resuming: a broker that has not read
// the old connection's last packets yet would otherwise lose the acknowledgement
// (mosquitto, writing a new message to the closed socket first, drops the connection on
// EPIPE; our broker, taking the session over, closes the old connection unread).
type waitGone func(ctx context.Context, clientID string) error

// mosquittoGone watches mosquitto's log for the client's disconnect.
func mosquittoGone(b *mosquittotest.Broker) waitGone {
	return func(ctx context.Context, id string) error {
		line := "Client " + id + " disconnected"
		for !strings.Contains(b.Log(), line) {
			select {
			case <-ctx.Done():
				return fmt.Errorf("mosquitto did not log %q: %w", line, ctx.Err())
			case <-time.After(time.Millisecond):
			}
		}
		return nil
	}
}

// goneWatch follows our broker's events.
type goneWatch struct {
	mu   sync.Mutex
	gone map[string]chan struct{} // closed at the client's first disconnect
}

func (w *goneWatch) ch(id string) chan struct{} {
	c, ok := w.gone[id]
	if !ok {
		c = make(chan struct{})
		w.gone[id] = c
	}
	return c
}

func (w *goneWatch) event(e broker.Event) {
	if e.Kind != broker.EventDisconnected && e.Kind != broker.EventTakenOver {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	c := w.ch(e.ClientID)
	select {
	case <-c:
	default:
		close(c)
	}
}

func (w *goneWatch) wait(ctx context.Context, id string) error {
	w.mu.Lock()
	c := w.ch(id)
	w.mu.Unlock()
	select {
	case <-c:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("broker did not report %s gone: %w", id, ctx.Err())
	}
}
