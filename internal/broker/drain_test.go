package broker_test

import (
	"errors"
	"io"
	"testing"
	"time"

	"github.com/mqttx/mqttx/internal/broker"
	"github.com/mqttx/mqttx/internal/broker/brokertest"
	"github.com/mqttx/mqttx/internal/packet"
)

// TestDisconnectReasonReachesBusyClient has a client exceed the receive
// maximum (0x93) with more input behind, as a client sending PUBRELs for
// earlier PUBRECs would: the broker half-closes after its DISCONNECT and
// drains the client's input for a bounded time, so the client reads the
// reason and then an orderly end of stream, not a connection reset (which
// a close with unread input sends, and which makes clients drop what they
// have not read yet).
func TestDisconnectReasonReachesBusyClient(t *testing.T) {
	addr := brokertest.Start(t, func(o *broker.Options) { o.MaxInflight = 2 })
	for round := 0; round < 3; round++ {
		c, _ := conn(t, addr, packet.V5, "busy", true)
		var b []byte
		for pid := uint16(1); pid <= 3; pid++ {
			b, _ = (&packet.Publish{Topic: []byte("t"), Payload: []byte("x"), QoS: 2, PacketID: pid}).AppendTo(b, packet.V5)
		}
		for len(b) < 64<<10 {
			b, _ = (&packet.Ack{PacketType: packet.PUBREL, PacketID: 1}).AppendTo(b, packet.V5)
		}
		c.sendRaw(b)
		rc := -1
		for rc < 0 {
			p, err := c.readErr(5 * time.Second)
			if err != nil {
				t.Fatalf("round %d: %v before DISCONNECT", round, err)
			}
			if d, ok := p.(*packet.Disconnect); ok {
				rc = int(d.ReasonCode)
			}
		}
		if rc != int(packet.ReceiveMaximumExceeded) {
			t.Fatalf("DISCONNECT %#x, want 0x93", rc)
		}
		if p, err := c.readErr(5 * time.Second); !errors.Is(err, io.EOF) {
			t.Fatalf("round %d: after DISCONNECT got %v %v, want the end of the stream", round, p, err)
		}
		c.nc.Close()
	}
}
