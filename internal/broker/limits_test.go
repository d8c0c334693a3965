package broker_test

import (
	"bytes"
	"runtime"
	"testing"
	"time"

	"github.com/mqttx/mqttx/internal/broker"
	"github.com/mqttx/mqttx/internal/broker/brokertest"

	"github.com/mqttx/mqttx/internal/packet"
)

// TestDeclaredLengthIsNotAllocated declares a 200 MB packet and sends 10
// bytes of it: the broker's memory must follow the bytes received, not the
// length declared.
func TestDeclaredLengthIsNotAllocated(t *testing.T) {
	addr := start(t)
	const declared = 200 << 20
	header := packet.AppendVarInt(nil, declared)
	for _, tc := range []struct {
		name  string
		first byte
		setup func() *rawClient
	}{
		{"connect", byte(packet.CONNECT) << 4, func() *rawClient { return dial(t, addr, packet.V311) }},
		{"publish", byte(packet.PUBLISH)<<4 | 0x02, func() *rawClient {
			c, _ := conn(t, addr, packet.V311, "big-"+t.Name(), true)
			return c
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.setup()
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			b := append([]byte{tc.first}, header...)
			b = append(b, 0, 3, 'a', '/', 'b', 0, 1, 'x', 'y', 'z') // 10 bytes of body
			c.sendRaw(b)
			// Give the broker time to read what was sent (and, before the
			// fix, to allocate the declared length).
			time.Sleep(300 * time.Millisecond)
			runtime.ReadMemStats(&after)
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 32<<20 {
				t.Fatalf("broker allocated %d bytes for a %d-byte packet of which 10 bytes arrived", grew, declared)
			}
			c.nc.Close()
		})
	}
	// The broker still serves.
	w, _ := conn(t, addr, packet.V5, "after", true)
	w.send(&packet.Pingreq{})
	expect[*packet.Pingresp](w)
}

// TestLargePublish routes a 5 MB message, read in growing steps, with the
// packet size limit lifted to the protocol's.
func TestLargePublish(t *testing.T) {
	addr := brokertest.Start(t, func(o *broker.Options) { o.MaxPacketSize = packet.MaxPacketSize })
	s, _ := conn(t, addr, packet.V5, "big-sub", true)
	s.subscribe(1, sub("big", 1))
	p, _ := conn(t, addr, packet.V311, "big-pub", true)
	payload := bytes.Repeat([]byte("0123456789abcdef"), 5<<20/16)
	payload[len(payload)-1] = '!'
	p.send(&packet.Publish{Topic: []byte("big"), Payload: payload, QoS: 1, PacketID: 7})
	p.expectAck(packet.PUBACK, 7)
	got := s.expectPublish()
	if !bytes.Equal(got.Payload, payload) {
		t.Fatalf("payload of %d bytes differs from the %d bytes sent", len(got.Payload), len(payload))
	}
}
