package packet_test

import (
	"bufio"
	"bytes"
	"fmt"

	"github.com/mqttx/mqttx/internal/packet"
)

// A connection's read loop: one reused body buffer, one reused *Publish, other packets
// through Decode.
func Example() {
	var wire []byte
	pub := &packet.Publish{Topic: []byte("sensors/1/temp"), Payload: []byte("21.5"), QoS: 1, PacketID: 7}
	pub.Properties.SetContentType([]byte("text/plain"))
	wire, _ = pub.AppendTo(wire, packet.V5)
	wire, _ = (&packet.Pingreq{}).AppendTo(wire, packet.V5)

	r := bufio.NewReader(bytes.NewReader(wire))
	var buf []byte
	var in packet.Publish
	for {
		h, body, nb, err := packet.ReadRaw(r, 1<<20, buf)
		buf = nb
		if err != nil {
			break // io.EOF here; a *packet.Error carries the reason code for DISCONNECT
		}
		if h.Type == packet.PUBLISH {
			if err := in.DecodeInto(h.First(), body, packet.V5); err != nil {
				fmt.Println(packet.CodeOf(err))
				return
			}
			fmt.Printf("%s %q qos %d id %d content type %s\n", in.Topic, in.Payload, in.QoS, in.PacketID, in.Properties.ContentType)
			ack, _ := (&packet.Ack{PacketType: packet.PUBACK, PacketID: in.PacketID}).AppendTo(nil, packet.V5)
			fmt.Printf("PUBACK % X\n", ack)
			continue
		}
		p, err := packet.Decode(h.First(), body, packet.V5)
		fmt.Println(p.Type(), err)
	}
	// Output:
	// sensors/1/temp "21.5" qos 1 id 7 content type text/plain
	// PUBACK 40 02 00 07
	// PINGREQ <nil>
}
