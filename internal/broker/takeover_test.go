package broker_test

import (
	"fmt"
	"testing"

	"github.com/mqttx/mqttx/internal/packet"
)

// TestTakeoverHonoursAcksAlreadySent writes PUBACK (and, every other time,
// DISCONNECT) and reconnects with the same client id at once: the broker
// must handle the old connection's input before resuming the session on
// the new one, so the acknowledged message is not sent again [MQTT-4.4.0-1
// applies to unacknowledged messages only].
func TestTakeoverHonoursAcksAlreadySent(t *testing.T) {
	addr := start(t)
	for _, v := range []packet.Version{packet.V311, packet.V5} {
		t.Run(fmt.Sprint(v), func(t *testing.T) {
			id := fmt.Sprintf("takeover-%d", v)
			s, _ := conn(t, addr, v, id, false)
			s.subscribe(1, sub("take/over", 1))
			p, _ := conn(t, addr, packet.V311, fmt.Sprintf("takeover-pub-%d", v), true)
			for i := range 40 {
				p.publish("take/over", fmt.Sprint("msg-", i), 1, false, 1)
				m := s.expectPublish()
				if string(m.Payload) != fmt.Sprint("msg-", i) {
					t.Fatalf("round %d: got %q", i, m.Payload)
				}
				b, err := (&packet.Ack{PacketType: packet.PUBACK, PacketID: m.PacketID}).AppendTo(nil, v)
				if err != nil {
					t.Fatal(err)
				}
				if i%2 == 0 {
					b, _ = (&packet.Disconnect{}).AppendTo(b, v)
				}
				s.sendRaw(b) // one write: PUBACK (and DISCONNECT), then reconnect at once
				old := s
				s, _ = conn(t, addr, v, id, false)
				old.nc.Close()
				p.publish("take/over", fmt.Sprint("marker-", i), 1, false, 1)
				m = s.expectPublish()
				if string(m.Payload) != fmt.Sprint("marker-", i) {
					t.Fatalf("round %d: after reconnecting got %q (dup %v), want the next message: the PUBACK sent before reconnecting was lost", i, m.Payload, m.Dup)
				}
				s.send(&packet.Ack{PacketType: packet.PUBACK, PacketID: m.PacketID})
			}
		})
	}
}
