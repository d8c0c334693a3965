package broker_test

import (
	"bytes"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mqttx/mqttx/internal/broker"
	"github.com/mqttx/mqttx/internal/broker/brokertest"
	"github.com/mqttx/mqttx/internal/packet"
)

// logBuffer is a slog handler's output that tests can read while the broker
// writes to it.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// heapInUse returns the live heap after a collection.
func heapInUse() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// TestOutboundQueueBoundedInBytes floods a subscriber that never reads with
// 96 MB of 32 KB QoS 0 messages, far fewer messages than the queue's message
// bound: the queue's byte bound (default 16 MiB) keeps the broker's heap
// from following the flood, QoS 0 messages are dropped, and each drop is
// counted and logged with the client id, topic and limit.
func TestOutboundQueueBoundedInBytes(t *testing.T) {
	var logs logBuffer
	addr := brokertest.Start(t, func(o *broker.Options) {
		o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	deaf, _ := conn(t, addr, packet.V311, "deaf", true)
	deaf.subscribe(1, sub("flood", 0))
	p, _ := conn(t, addr, packet.V311, "flooder", true)
	before := heapInUse()
	b, _ := (&packet.Publish{Topic: []byte("flood"), Payload: bytes.Repeat([]byte("x"), 32<<10)}).AppendTo(nil, packet.V311)
	for i := 0; i < 3000; i++ {
		p.sendRaw(b)
	}
	p.publish("sync", "", 0, false, 0) // every PUBLISH has been routed
	grew := int64(heapInUse()) - int64(before)
	if grew > 40<<20 {
		t.Fatalf("heap grew by %d MB while a subscriber that never reads was sent 96 MB", grew>>20)
	}
	out := logs.String()
	if !strings.Contains(out, "client=deaf") || !strings.Contains(out, "topic=flood") || !strings.Contains(out, "limit=") {
		t.Fatalf("no drop logged with client, topic and limit; log:\n%s", out)
	}
}

// TestSlowQoS1ClientDisconnectedAfterGrace floods an MQTT 5 subscriber that
// never reads with QoS 1 messages: once its outbound queue is at its byte
// bound for longer than the grace period it is disconnected (0x97 Quota
// exceeded, which a client reading its socket would get), while the
// publisher is never held up.
func TestSlowQoS1ClientDisconnectedAfterGrace(t *testing.T) {
	events := make(chan broker.Event, 64)
	addr := brokertest.Start(t, func(o *broker.Options) {
		o.MaxOutboundBytes = 256 << 10
		o.SlowClientGrace = 100 * time.Millisecond
		o.OnEvent = func(e broker.Event) {
			if e.Kind == broker.EventDisconnected && e.ClientID == "deaf" {
				events <- e
			}
		}
	})
	deaf, _ := conn(t, addr, packet.V5, "deaf", true)
	deaf.subscribe(1, sub("flood", 1))
	p, _ := conn(t, addr, packet.V311, "flooder", true)
	payload := strings.Repeat("x", 32<<10)
	deadline := time.Now().Add(20 * time.Second)
	for i := 0; ; i++ {
		p.publish("flood", payload, 1, false, uint16(i%60000+1))
		select {
		case e := <-events:
			if !strings.Contains(e.Reason, "byte limit") {
				t.Fatalf("disconnected for %q, want the byte limit", e.Reason)
			}
			return
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("a subscriber that never reads is still connected after %d messages of 32 KB", i+1)
		}
	}
}
