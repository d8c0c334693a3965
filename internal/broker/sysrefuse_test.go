package broker_test

import (
	"testing"
	"time"

	"github.com/mqttx/mqttx/internal/packet"
)

// TestSysTopicsAreTheBrokers checks that clients cannot publish under $SYS/:
// MQTT 5 QoS 1/2 publishes are refused with 0x87, the others dropped, and
// none is routed or retained, so a later subscriber cannot mistake a
// client's message for the broker's.
func TestSysTopicsAreTheBrokers(t *testing.T) {
	addr := start(t)
	s, _ := conn(t, addr, packet.V5, "sys-watch", true)
	s.subscribe(1, sub("$SYS/#", 1))
	p5, _ := conn(t, addr, packet.V5, "sys-pub5", true)
	p5.send(&packet.Publish{Topic: []byte("$SYS/broker/version"), Payload: []byte("fake"), QoS: 1, Retain: true, PacketID: 1})
	if a := p5.expectAck(packet.PUBACK, 1); a.ReasonCode != packet.NotAuthorized {
		t.Fatalf("PUBACK %v, want 0x87 Not authorized", a.ReasonCode)
	}
	p5.send(&packet.Publish{Topic: []byte("$SYS/broker/uptime"), Payload: []byte("fake"), QoS: 2, Retain: true, PacketID: 2})
	if a := p5.expectAck(packet.PUBREC, 2); a.ReasonCode != packet.NotAuthorized {
		t.Fatalf("PUBREC %v, want 0x87 Not authorized", a.ReasonCode)
	}
	p5.publish("$SYS/broker/clients", "fake", 0, true, 0)
	p3, _ := conn(t, addr, packet.V311, "sys-pub3", true)
	p3.publish("$SYS/broker/load", "fake", 1, true, 3)
	p3.publish("$SYS", "fake", 0, true, 0)
	s.expectNothing(200 * time.Millisecond)
	late, _ := conn(t, addr, packet.V311, "sys-late", true)
	late.subscribe(1, sub("$SYS/#", 0), sub("$SYS", 0))
	late.expectNothing(200 * time.Millisecond)
	// Topics that merely contain $SYS are the clients'.
	p3.publish("a/$SYS/b", "mine", 0, false, 0)
}

// TestPublishWithSubscriptionIdentifierRefused_MQTT_3_3_4_6 checks that a
// client's PUBLISH carrying a Subscription Identifier is a protocol error.
func TestPublishWithSubscriptionIdentifierRefused_MQTT_3_3_4_6(t *testing.T) {
	addr := start(t)
	c, _ := conn(t, addr, packet.V5, "subid-pub", true)
	p := &packet.Publish{Topic: []byte("t"), Payload: []byte("x"), QoS: 1, PacketID: 1}
	p.Properties.SubscriptionIDs = []uint32{7}
	c.send(p)
	if rc := c.expectClosed(); rc != int(packet.ProtocolError) {
		t.Fatalf("DISCONNECT %#x, want 0x82 Protocol error", rc)
	}
}
