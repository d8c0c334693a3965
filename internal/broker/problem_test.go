package broker_test

import (
	"testing"

	"github.com/mqttx/mqttx/internal/broker"
	"github.com/mqttx/mqttx/internal/broker/auth"
	"github.com/mqttx/mqttx/internal/broker/brokertest"
	"github.com/mqttx/mqttx/internal/packet"
)

// TestRequestProblemInformationZero_MQTT_3_1_2_29 checks that a client
// sending Request Problem Information = 0 gets no Reason String and no User
// Property on packets other than PUBLISH, CONNACK and DISCONNECT, here on
// every acknowledgement with a failure reason the broker sends.
func TestRequestProblemInformationZero_MQTT_3_1_2_29(t *testing.T) {
	a, err := auth.ParseACL([]byte("topic readwrite ok/#\n"))
	if err != nil {
		t.Fatal(err)
	}
	addr := brokertest.Start(t, func(o *broker.Options) {
		o.Authorizer = &auth.Policy{ACL: a}
		o.MaxSubscriptions = 1
	})
	c := dial(t, addr, packet.V5)
	cp := &packet.Connect{ClientID: "rpi", CleanStart: true, KeepAlive: 60}
	cp.Properties.RequestProblemInfo = 0
	cp.Properties.Set(packet.PropRequestProblemInformation)
	if ack := c.connect(cp); ack.ReasonCode != packet.Success {
		t.Fatalf("CONNACK %v", ack.ReasonCode)
	}
	noProblemInfo := func(what string, p *packet.Properties) {
		t.Helper()
		if p.Has(packet.PropReasonString) || len(p.ReasonString) > 0 || len(p.User) > 0 {
			t.Errorf("%s carries a Reason String %q or User Properties %v after Request Problem Information 0", what, p.ReasonString, p.User)
		}
	}

	sa := c.subscribe(1, sub("secret/#", 1)) // the ACL lets it read nothing there
	if sa.ReasonCodes[0] != packet.NotAuthorized {
		t.Fatalf("SUBACK %v, want 0x87", sa.ReasonCodes[0])
	}
	noProblemInfo("SUBACK 0x87", &sa.Properties)
	c.subscribe(2, sub("ok/1", 1))
	sa = c.subscribe(3, sub("ok/2", 1)) // beyond MaxSubscriptions
	if sa.ReasonCodes[0] != packet.QuotaExceeded {
		t.Fatalf("SUBACK %v, want 0x97", sa.ReasonCodes[0])
	}
	noProblemInfo("SUBACK 0x97", &sa.Properties)

	c.send(&packet.Unsubscribe{PacketID: 4, Filters: []string{"ok/none"}})
	ua := expect[*packet.Unsuback](c)
	if ua.ReasonCodes[0] != packet.NoSubscriptionExisted {
		t.Fatalf("UNSUBACK %v, want 0x11", ua.ReasonCodes[0])
	}
	noProblemInfo("UNSUBACK 0x11", &ua.Properties)

	c.send(&packet.Publish{Topic: []byte("secret/x"), Payload: []byte("m"), QoS: 1, PacketID: 5})
	ack := c.expectAck(packet.PUBACK, 5)
	if ack.ReasonCode != packet.NotAuthorized {
		t.Fatalf("PUBACK %v, want 0x87", ack.ReasonCode)
	}
	noProblemInfo("PUBACK 0x87", &ack.Properties)
	c.send(&packet.Publish{Topic: []byte("secret/x"), Payload: []byte("m"), QoS: 2, PacketID: 6})
	ack = c.expectAck(packet.PUBREC, 6)
	if ack.ReasonCode != packet.NotAuthorized {
		t.Fatalf("PUBREC %v, want 0x87", ack.ReasonCode)
	}
	noProblemInfo("PUBREC 0x87", &ack.Properties)
	c.send(&packet.Publish{Topic: []byte("ok/nobody"), Payload: []byte("m"), QoS: 1, PacketID: 7})
	noProblemInfo("PUBACK", &c.expectAck(packet.PUBACK, 7).Properties)
	c.send(&packet.Ack{PacketType: packet.PUBREL, PacketID: 99})
	ack = c.expectAck(packet.PUBCOMP, 99)
	if ack.ReasonCode != packet.PacketIdentifierNotFound {
		t.Fatalf("PUBCOMP %v, want 0x92", ack.ReasonCode)
	}
	noProblemInfo("PUBCOMP 0x92", &ack.Properties)
}
