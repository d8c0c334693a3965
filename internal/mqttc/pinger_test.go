package mqttc

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/packets"
)

// TestV5NoPingAtConnect: paho's default pinger sent a PINGREQ the moment CONNACK
// arrived; mosquitto's PINGRESP then delayed the PUBACK of the first publish by our
// delayed ACK (40 ms). The broker here records what the client sends.
func TestV5NoPingAtConnect(t *testing.T) {
	got := make(chan []byte, 1)
	addr := scriptedPeer(t, func(c net.Conn) error {
		var types []byte
		defer func() { got <- types }()
		if _, err := packets.ReadPacket(c); err != nil { // CONNECT
			return err
		}
		if _, err := (&packets.Connack{Properties: &packets.Properties{}}).WriteTo(c); err != nil {
			return err
		}
		for {
			p, err := packets.ReadPacket(c)
			if err != nil {
				return err
			}
			types = append(types, p.FixedHeader.Type)
			switch q := p.Content.(type) {
			case *packets.Publish:
				if _, err := (&packets.Puback{PacketID: q.PacketID, Properties: &packets.Properties{}}).WriteTo(c); err != nil {
					return err
				}
			case *packets.Pingreq:
				if _, err := packets.NewControlPacket(packets.PINGRESP).WriteTo(c); err != nil {
					return err
				}
			case *packets.Disconnect:
				return nil
			}
		}
	})
	o := baseOptions(t, addr, V5)
	o.KeepAlive = 30
	c, _ := connect(t, o)
	if err := c.Publish(ctxT(t), Message{Topic: "t", QoS: 1, Payload: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	if err := c.Disconnect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	types := <-got
	want := []byte{packets.PUBLISH, packets.DISCONNECT}
	if string(types) != string(want) {
		t.Fatalf("client sent packet types %v, want %v (no PINGREQ before the keepalive is due)", types, want)
	}
}

// TestPublishToMuteBroker: a broker that acknowledges the connection and then never
// answers. A QoS 1 publish ends with an error once the keepalive's PINGRESP does not
// come, instead of waiting forever.
func TestPublishToMuteBroker(t *testing.T) {
	for _, v := range []Version{V5, V311} {
		t.Run(v.String(), func(t *testing.T) {
			addr := scriptedPeer(t, func(c net.Conn) error {
				if _, _, err := readRaw(c); err != nil { // CONNECT
					return err
				}
				connack := []byte{0x20, 2, 0, 0}
				if v == V5 {
					connack = []byte{0x20, 3, 0, 0, 0}
				}
				if _, err := c.Write(connack); err != nil {
					return err
				}
				for {
					if _, _, err := readRaw(c); err != nil {
						return nil // the client gave up and closed
					}
				}
			})
			o := baseOptions(t, addr, v)
			o.KeepAlive = 1
			c, _ := connect(t, o)
			done := make(chan error, 1)
			go func() { done <- c.Publish(context.Background(), Message{Topic: "t", QoS: 1, Payload: []byte("x")}) }()
			select {
			case err := <-done:
				if err == nil {
					t.Fatal("publish to a mute broker succeeded")
				}
			case <-time.After(20 * time.Second):
				t.Fatal("publish to a mute broker still waiting after 20s")
			}
			_ = c.Kill()
		})
	}
}
