package broker_test

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mqttx/mqttx/internal/broker"
	"github.com/mqttx/mqttx/internal/broker/auth"
	"github.com/mqttx/mqttx/internal/broker/brokertest"
	"github.com/mqttx/mqttx/internal/packet"
)

func TestConnectEveryVersion(t *testing.T) {
	addr := start(t)
	for _, v := range []packet.Version{packet.V31, packet.V311, packet.V5} {
		c, ack := conn(t, addr, v, "c-"+v.String(), true)
		if ack.SessionPresent {
			t.Errorf("%v: session present on a clean connect [MQTT-3.2.2-2]", v)
		}
		c.send(&packet.Pingreq{})
		expect[*packet.Pingresp](c)
		c.disconnect()
	}
}

func TestFirstPacketMustBeConnect_MQTT_3_1_0_1(t *testing.T) {
	c := dial(t, start(t), packet.V311)
	c.send(&packet.Pingreq{})
	c.expectClosed()
}

func TestSecondConnectIsProtocolError_MQTT_3_1_0_2(t *testing.T) {
	addr := start(t)
	c, _ := conn(t, addr, packet.V5, "twice", true)
	c.send(&packet.Connect{ClientID: "twice", CleanStart: true})
	if rc := c.expectClosed(); rc != int(packet.ProtocolError) {
		t.Fatalf("DISCONNECT reason %#x, want 0x82", rc)
	}
}

func TestUnsupportedProtocolVersion_MQTT_3_1_2_2(t *testing.T) {
	addr := start(t)
	// Protocol name MQTT with level 3 (3.1 uses MQIsdp): 3.x form, 0x01.
	c := dial(t, addr, packet.V311)
	c.sendRaw([]byte{0x10, 12, 0, 4, 'M', 'Q', 'T', 'T', 3, 2, 0, 60, 0, 0})
	ack := expect[*packet.Connack](c)
	if ack.ReasonCode != packet.V3RefusedProtocolVersion {
		t.Fatalf("return code %#x, want 0x01", ack.ReasonCode)
	}
	c.expectClosed()
	// A level above 5: v5 form, 0x84.
	c = dial(t, addr, packet.V5)
	c.sendRaw([]byte{0x10, 13, 0, 4, 'M', 'Q', 'T', 'T', 6, 2, 0, 60, 0, 0, 0})
	ack = expect[*packet.Connack](c)
	if ack.ReasonCode != packet.UnsupportedProtocolVersion {
		t.Fatalf("reason %#x, want 0x84", ack.ReasonCode)
	}
	c.expectClosed()
}

func TestEmptyClientID(t *testing.T) {
	addr := start(t)
	t.Run("v5 assigned client identifier MQTT-3.2.2-16", func(t *testing.T) {
		c := dial(t, addr, packet.V5)
		ack := c.connect(&packet.Connect{CleanStart: true})
		if ack.ReasonCode != 0 || len(ack.Properties.AssignedClientID) == 0 {
			t.Fatalf("CONNACK %v, assigned %q", ack.ReasonCode, ack.Properties.AssignedClientID)
		}
	})
	t.Run("v3.1.1 clean session accepted MQTT-3.1.3-7", func(t *testing.T) {
		c := dial(t, addr, packet.V311)
		if ack := c.connect(&packet.Connect{CleanStart: true}); ack.ReasonCode != 0 {
			t.Fatalf("CONNACK %v", ack.ReasonCode)
		}
	})
	t.Run("v3.1.1 persistent session rejected MQTT-3.1.3-8", func(t *testing.T) {
		c := dial(t, addr, packet.V311)
		if ack := c.connect(&packet.Connect{CleanStart: false}); ack.ReasonCode != packet.V3RefusedIdentifierRejected {
			t.Fatalf("CONNACK %v, want 0x02", ack.ReasonCode)
		}
		c.expectClosed()
	})
}

func TestAuthenticate(t *testing.T) {
	h, err := auth.HashPassword([]byte("p"))
	if err != nil {
		t.Fatal(err)
	}
	users, err := auth.ParseUsers([]byte("u:" + h + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	addr := brokertest.Start(t, func(o *broker.Options) { o.Authorizer = &auth.Policy{Users: users} })
	c := dial(t, addr, packet.V5)
	if ack := c.connect(&packet.Connect{ClientID: "a", CleanStart: true, Username: "u", UsernameFlag: true, Password: []byte("x"), PasswordFlag: true}); ack.ReasonCode != packet.BadUserNameOrPassword {
		t.Fatalf("v5 bad password: %v", ack.ReasonCode)
	}
	c = dial(t, addr, packet.V311)
	if ack := c.connect(&packet.Connect{ClientID: "a", CleanStart: true}); ack.ReasonCode != packet.V3RefusedBadUsernameOrPassword {
		t.Fatalf("v3 no credentials: %v", ack.ReasonCode)
	}
	c = dial(t, addr, packet.V311)
	if ack := c.connect(&packet.Connect{ClientID: "a", CleanStart: true, Username: "u", UsernameFlag: true, Password: []byte("p"), PasswordFlag: true}); ack.ReasonCode != 0 {
		t.Fatalf("good credentials: %v", ack.ReasonCode)
	}
}

func TestServerKeepAlive_MQTT_3_2_2_21(t *testing.T) {
	addr := brokertest.Start(t, func(o *broker.Options) { o.MaxKeepAlive = 1 })
	c := dial(t, addr, packet.V5)
	ack := c.connect(&packet.Connect{ClientID: "ka", CleanStart: true, KeepAlive: 300})
	if !ack.Properties.Has(packet.PropServerKeepAlive) || ack.Properties.ServerKeepAlive != 1 {
		t.Fatalf("Server Keep Alive = %v (present %v), want 1", ack.Properties.ServerKeepAlive, ack.Properties.Has(packet.PropServerKeepAlive))
	}
	// Silent for 1.5 x keep alive: disconnected with 0x8D [MQTT-3.1.2-24].
	begin := time.Now()
	if rc := c.expectClosed(); rc != int(packet.KeepAliveTimeout) {
		t.Fatalf("DISCONNECT reason %#x, want 0x8D", rc)
	}
	if el := time.Since(begin); el < 1400*time.Millisecond {
		t.Fatalf("closed after %v, before 1.5 x keep alive", el)
	}
}

func TestKeepAliveKeptByPing(t *testing.T) {
	addr := start(t)
	c := dial(t, addr, packet.V311)
	c.connect(&packet.Connect{ClientID: "ping", CleanStart: true, KeepAlive: 1})
	for range 3 {
		time.Sleep(700 * time.Millisecond)
		c.send(&packet.Pingreq{})
		expect[*packet.Pingresp](c)
	}
}

func TestSessionTakeover_MQTT_3_1_4_3(t *testing.T) {
	addr := start(t)
	old, _ := conn(t, addr, packet.V5, "same", false)
	old.subscribe(1, sub("to/me", 1))
	nw, ack := conn(t, addr, packet.V5, "same", false)
	if !ack.SessionPresent {
		t.Fatal("session present = false when taking over a persistent session")
	}
	if rc := old.expectClosed(); rc != int(packet.SessionTakenOver) {
		t.Fatalf("old connection DISCONNECT %#x, want 0x8E", rc)
	}
	// The subscription moved to the new connection.
	p, _ := conn(t, addr, packet.V311, "pub", true)
	p.publish("to/me", "hi", 1, false, 1)
	if got := nw.expectPublish(); string(got.Payload) != "hi" {
		t.Fatalf("payload %q", got.Payload)
	}
}

func TestSessionPresent_MQTT_3_2_2_3(t *testing.T) {
	addr := start(t)
	for _, v := range []packet.Version{packet.V311, packet.V5} {
		id := "sp-" + v.String()
		c, _ := conn(t, addr, v, id, false)
		c.subscribe(1, sub("a/b", 1))
		c.disconnect()
		time.Sleep(50 * time.Millisecond)
		c, ack := conn(t, addr, v, id, false)
		if !ack.SessionPresent {
			t.Fatalf("%v: session present = false on resume", v)
		}
		c.disconnect()
		time.Sleep(50 * time.Millisecond)
		// Clean start discards it [MQTT-3.1.2-4].
		c, ack = conn(t, addr, v, id, true)
		if ack.SessionPresent {
			t.Fatalf("%v: session present = true on clean start", v)
		}
		c.disconnect()
	}
}

func TestMaximumPacketSizeInbound_MQTT_3_2_2_15(t *testing.T) {
	addr := brokertest.Start(t, func(o *broker.Options) { o.MaxPacketSize = 100 })
	c := dial(t, addr, packet.V5)
	ack := c.connect(&packet.Connect{ClientID: "big", CleanStart: true})
	if ack.Properties.MaximumPacketSize != 100 {
		t.Fatalf("CONNACK Maximum Packet Size %d, want 100", ack.Properties.MaximumPacketSize)
	}
	c.send(&packet.Publish{Topic: []byte("t"), Payload: []byte(strings.Repeat("x", 200))})
	if rc := c.expectClosed(); rc != int(packet.PacketTooLarge) {
		t.Fatalf("DISCONNECT %#x, want 0x95", rc)
	}
}

func TestMalformedPacketClosesConnection(t *testing.T) {
	addr := start(t)
	for _, v := range []packet.Version{packet.V311, packet.V5} {
		c, _ := conn(t, addr, v, "mal", true)
		// PUBLISH QoS 3 [MQTT-3.3.1-4].
		c.sendRaw([]byte{0x36, 5, 0, 1, 't', 0, 1})
		rc := c.expectClosed()
		if v == packet.V5 && rc != int(packet.MalformedPacket) {
			t.Fatalf("v5 DISCONNECT %#x, want 0x81", rc)
		}
		if v == packet.V311 && rc != -1 {
			t.Fatalf("v3 got a DISCONNECT from the server")
		}
	}
}

func TestShutdownSendsServerShuttingDown(t *testing.T) {
	s, addr := brokertest.StartServer(t)
	c, _ := conn(t, addr, packet.V5, "sd", true)
	go s.Shutdown(t.Context())
	if rc := c.expectClosed(); rc != int(packet.ServerShuttingDown) {
		t.Fatalf("DISCONNECT %#x, want 0x8B", rc)
	}
}

func TestSessionExpiryCapped(t *testing.T) {
	addr := brokertest.Start(t, func(o *broker.Options) { o.MaxSessionExpiry = 60 })
	c := dial(t, addr, packet.V5)
	cp := &packet.Connect{ClientID: "cap", CleanStart: true}
	cp.Properties.SetSessionExpiry(86400)
	ack := c.connect(cp)
	if !ack.Properties.Has(packet.PropSessionExpiryInterval) || ack.Properties.SessionExpiry != 60 {
		t.Fatalf("CONNACK Session Expiry Interval %d (present %v), want 60", ack.Properties.SessionExpiry, ack.Properties.Has(packet.PropSessionExpiryInterval))
	}
}

func TestEnhancedAuthenticationRefused(t *testing.T) {
	c := dial(t, start(t), packet.V5)
	cp := &packet.Connect{ClientID: "auth", CleanStart: true}
	cp.Properties.SetAuthMethod([]byte("SCRAM-SHA-1"))
	if ack := c.connect(cp); ack.ReasonCode != packet.BadAuthenticationMethod {
		t.Fatalf("CONNACK %v, want 0x8C", ack.ReasonCode)
	}
	c.expectClosed()
}

func TestV31RequiresClientID(t *testing.T) {
	c := dial(t, start(t), packet.V31)
	if ack := c.connect(&packet.Connect{CleanStart: true}); ack.ReasonCode != packet.V3RefusedIdentifierRejected {
		t.Fatalf("CONNACK %v, want 0x02", ack.ReasonCode)
	}
	c.expectClosed()
}

func TestEvents(t *testing.T) {
	events := make(chan broker.Event, 16)
	addr := brokertest.Start(t, func(o *broker.Options) {
		o.OnEvent = func(e broker.Event) { events <- e }
	})
	c, _ := conn(t, addr, packet.V5, "ev", true)
	c.subscribe(1, sub("ev/#", 1))
	c.send(&packet.Unsubscribe{PacketID: 2, Filters: []string{"ev/#"}})
	expect[*packet.Unsuback](c)
	c.disconnect()
	want := []string{broker.EventConnected, broker.EventSubscribed, broker.EventUnsubscribed, broker.EventDisconnected}
	for _, k := range want {
		select {
		case e := <-events:
			if e.Kind != k || e.ClientID != "ev" || e.Version != 5 || e.Time.IsZero() {
				t.Fatalf("event %+v, want %s for ev", e, k)
			}
			if k == broker.EventSubscribed && (e.Topic != "ev/#" || e.QoS != 1) {
				t.Fatalf("subscribed event %+v", e)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no %s event", k)
		}
	}
}

// TestResumeWithBacklogWhilePublishing_MQTT_4_4_0_1 reconnects a persistent
// subscriber again and again, reading a few messages each time, while a
// publisher floods its topic with QoS 1: its unacknowledged backlog soon
// exceeds the outbound queue. Every reconnect must still resume the session
// (all unacknowledged messages are resent [MQTT-4.4.0-1], so they must fit
// the queue), with CONNACK first [MQTT-3.2.0-1] and the messages of each
// connection in publish order.
func TestResumeWithBacklogWhilePublishing_MQTT_4_4_0_1(t *testing.T) {
	// A short outbound queue keeps the resends per reconnect (at most
	// half of it) few.
	addr := brokertest.Start(t, func(o *broker.Options) { o.MaxOutboundQueue = 2000 })
	const rounds, perRound = 100, 3
	for _, v := range []packet.Version{packet.V311, packet.V5} {
		id := fmt.Sprintf("race-%d", v)
		topic := fmt.Sprintf("race/%d", v)
		s, _ := conn(t, addr, v, id, false)
		s.subscribe(1, sub(topic, 1))
		s.disconnect()

		// The publisher writes pre-encoded QoS 1 messages numbered 0..n-1,
		// a few at a time, and discards its PUBACKs.
		pub := dial(t, addr, v)
		pub.connect(&packet.Connect{ClientID: id + "-pub", CleanStart: true, KeepAlive: 60})
		stop := make(chan struct{})
		done := make(chan struct{})
		go io.Copy(io.Discard, pub.nc)
		go func() {
			defer close(done)
			for i := 0; i < 200000; i++ {
				select {
				case <-stop:
					return
				default:
				}
				b, _ := (&packet.Publish{Topic: []byte(topic), Payload: []byte(strconv.Itoa(i)), QoS: 1, PacketID: uint16(i%60000 + 1)}).AppendTo(nil, v)
				pub.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
				if _, err := pub.nc.Write(b); err != nil {
					return
				}
			}
		}()

		received := 0
		for round := range rounds {
			c := dial(t, addr, v)
			cp := &packet.Connect{ClientID: id, KeepAlive: 60}
			if v == packet.V5 {
				cp.Properties.SetSessionExpiry(3600)
			}
			c.send(cp)
			first := c.read()
			ack, ok := first.(*packet.Connack)
			if !ok {
				t.Fatalf("v%v round %d: first packet %v, want CONNACK", v, round, first.Type())
			}
			if ack.ReasonCode != 0 || !ack.SessionPresent {
				t.Fatalf("v%v round %d: CONNACK %v, session present %v", v, round, ack.ReasonCode, ack.SessionPresent)
			}
			last := -1
			for range perRound {
				m := c.expectPublish()
				n, err := strconv.Atoi(string(m.Payload))
				if err != nil || n <= last {
					t.Fatalf("v%v round %d: message %q after %d: out of order", v, round, m.Payload, last)
				}
				last = n
				received++
				c.send(&packet.Ack{PacketType: packet.PUBACK, PacketID: m.PacketID})
			}
			c.disconnect()
		}
		close(stop)
		<-done
		if received != rounds*perRound {
			t.Fatalf("v%v: received %d messages, want %d", v, received, rounds*perRound)
		}
	}
}
