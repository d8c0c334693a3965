package broker_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/mqttx/mqttx/internal/packet"
)

// TestRetainedStreamedToNewSubscriber stores 10,000 retained messages and
// subscribes to # at each QoS with default limits: every one arrives, as
// the broker streams them under flow control (receive maximum, queue room)
// instead of queueing them all at once and dropping what does not fit
// [MQTT-3.3.1-9].
func TestRetainedStreamedToNewSubscriber(t *testing.T) {
	const n = 10000
	for _, qos := range []byte{0, 1, 2} {
		t.Run("qos"+strconv.Itoa(int(qos)), func(t *testing.T) {
			addr := start(t)
			p, _ := conn(t, addr, packet.V311, "retainer", true)
			var batch []byte
			for i := 0; i < n; i++ {
				b, _ := (&packet.Publish{Topic: []byte("r/" + strconv.Itoa(i)), Payload: []byte("m" + strconv.Itoa(i)), QoS: 0, Retain: true}).AppendTo(nil, packet.V311)
				batch = append(batch, b...)
			}
			p.sendRaw(batch)
			p.publish("sync", "", 0, false, 0) // PINGRESP after every PUBLISH was handled
			for _, v := range []packet.Version{packet.V311, packet.V5} {
				s, _ := conn(t, addr, v, "all-"+v.String(), true)
				s.subscribe(1, sub("r/#", qos))
				seen := make(map[string]bool, n)
				for len(seen) < n {
					pk, err := s.readErr(10 * time.Second)
					if err != nil {
						t.Fatalf("%v subscriber at QoS %d got %d of %d retained messages: %v", v, qos, len(seen), n, err)
					}
					m, ok := pk.(*packet.Publish)
					if !ok {
						t.Fatalf("got %v, want PUBLISH", pk.Type())
					}
					if !m.Retain {
						t.Fatalf("retained message %s without RETAIN", m.Topic)
					}
					seen[string(m.Topic)] = true
					if m.QoS > 0 {
						s.acknowledge(m)
					}
				}
				s.expectNothing(100 * time.Millisecond)
			}
		})
	}
}
