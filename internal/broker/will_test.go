package broker_test

import (
	"testing"
	"time"

	"github.com/mqttx/mqttx/internal/broker/brokertest"
	"github.com/mqttx/mqttx/internal/packet"
)

func willConnect(id string, clean bool, qos byte, retain bool) *packet.Connect {
	return &packet.Connect{ClientID: id, CleanStart: clean, KeepAlive: 60, WillFlag: true,
		WillTopic: "will/" + id, WillPayload: []byte("gone:" + id), WillQoS: qos, WillRetain: retain}
}

func TestWillOnAbnormalClose_MQTT_3_1_2_8(t *testing.T) {
	addr := start(t)
	for _, v := range []packet.Version{packet.V31, packet.V311, packet.V5} {
		s, _ := conn(t, addr, packet.V5, "watch", true)
		s.subscribe(1, sub("will/#", 2))
		w := dial(t, addr, v)
		w.connect(willConnect("w"+v.String(), true, 1, false))
		w.nc.Close()
		m := s.expectPublish()
		if string(m.Topic) != "will/w"+v.String() || m.QoS != 1 {
			t.Fatalf("%v: will %q qos %d", v, m.Topic, m.QoS)
		}
		s.send(&packet.Ack{PacketType: packet.PUBACK, PacketID: m.PacketID})
		s.disconnect()
	}
}

func TestNoWillOnNormalDisconnect_MQTT_3_14_4_3(t *testing.T) {
	addr := start(t)
	s, _ := conn(t, addr, packet.V311, "watch", true)
	s.subscribe(1, sub("will/#", 0))
	w := dial(t, addr, packet.V311)
	w.connect(willConnect("w", true, 0, false))
	w.disconnect()
	s.expectNothing(300 * time.Millisecond)
}

func TestDisconnectWithWillMessage(t *testing.T) {
	addr := start(t)
	s, _ := conn(t, addr, packet.V5, "watch", true)
	s.subscribe(1, sub("will/#", 0))
	w := dial(t, addr, packet.V5)
	w.connect(willConnect("w", true, 0, false))
	w.send(&packet.Disconnect{ReasonCode: packet.DisconnectWithWill})
	if m := s.expectPublish(); string(m.Payload) != "gone:w" {
		t.Fatalf("got %q", m.Payload)
	}
}

func TestWillOnProtocolError(t *testing.T) {
	addr := start(t)
	s, _ := conn(t, addr, packet.V311, "watch", true)
	s.subscribe(1, sub("will/#", 0))
	w := dial(t, addr, packet.V311)
	w.connect(willConnect("w", true, 0, false))
	w.sendRaw([]byte{0x36, 5, 0, 1, 't', 0, 1}) // QoS 3
	w.expectClosed()
	if m := s.expectPublish(); string(m.Payload) != "gone:w" {
		t.Fatalf("got %q", m.Payload)
	}
}

func TestWillRetained_MQTT_3_1_2_17(t *testing.T) {
	addr := start(t)
	w := dial(t, addr, packet.V311)
	w.connect(willConnect("w", true, 0, true))
	w.nc.Close()
	time.Sleep(100 * time.Millisecond)
	s, _ := conn(t, addr, packet.V311, "late", true)
	s.subscribe(1, sub("will/w", 0))
	if m := s.expectPublish(); !m.Retain || string(m.Payload) != "gone:w" {
		t.Fatalf("retained will: retain %v %q", m.Retain, m.Payload)
	}
}

func TestWillDelay_MQTT_3_1_3_9(t *testing.T) {
	addr := start(t)
	s, _ := conn(t, addr, packet.V5, "watch", true)
	s.subscribe(1, sub("will/#", 0))

	// Resumed within the delay: no will.
	cp := willConnect("resumed", false, 0, false)
	cp.Properties.SetSessionExpiry(60)
	cp.WillProperties.SetWillDelay(1)
	w := dial(t, addr, packet.V5)
	w.connect(cp)
	w.nc.Close()
	time.Sleep(200 * time.Millisecond)
	w = dial(t, addr, packet.V5)
	cp2 := &packet.Connect{ClientID: "resumed", CleanStart: false}
	cp2.Properties.SetSessionExpiry(60)
	w.connect(cp2)
	s.expectNothing(1300 * time.Millisecond)

	// Not resumed: the will arrives after the delay.
	cp = willConnect("late", false, 0, false)
	cp.Properties.SetSessionExpiry(60)
	cp.WillProperties.SetWillDelay(1)
	w = dial(t, addr, packet.V5)
	w.connect(cp)
	w.nc.Close()
	begin := time.Now()
	m := s.expectPublish()
	if string(m.Payload) != "gone:late" || time.Since(begin) < 900*time.Millisecond {
		t.Fatalf("will %q after %v, want after 1s", m.Payload, time.Since(begin))
	}

	// Session expiry earlier than the will delay: sent when the session ends.
	cp = willConnect("expiry", false, 0, false)
	cp.Properties.SetSessionExpiry(1)
	cp.WillProperties.SetWillDelay(30)
	w = dial(t, addr, packet.V5)
	w.connect(cp)
	w.nc.Close()
	m = s.expectPublish()
	if string(m.Payload) != "gone:expiry" {
		t.Fatalf("got %q", m.Payload)
	}
}

func TestSessionExpiry_MQTT_3_1_2_23(t *testing.T) {
	addr := start(t)
	cp := &packet.Connect{ClientID: "se", CleanStart: false}
	cp.Properties.SetSessionExpiry(1)
	c := dial(t, addr, packet.V5)
	c.connect(cp)
	c.subscribe(1, sub("se/x", 1))
	c.disconnect()
	time.Sleep(1300 * time.Millisecond)
	c = dial(t, addr, packet.V5)
	if ack := c.connect(cp); ack.SessionPresent {
		t.Fatal("session present after its expiry interval")
	}
	// Expiry 0 (the default): the session ends at disconnect.
	c.disconnect()
	c = dial(t, addr, packet.V5)
	c.connect(&packet.Connect{ClientID: "zero", CleanStart: false})
	c.disconnect()
	time.Sleep(50 * time.Millisecond)
	c = dial(t, addr, packet.V5)
	if ack := c.connect(&packet.Connect{ClientID: "zero", CleanStart: false}); ack.SessionPresent {
		t.Fatal("session with expiry 0 survived the disconnect")
	}
}

func TestDisconnectCannotSetExpiryFromZero_MQTT_3_14_2_2(t *testing.T) {
	addr := start(t)
	c := dial(t, addr, packet.V5)
	c.connect(&packet.Connect{ClientID: "z", CleanStart: true})
	d := &packet.Disconnect{}
	d.Properties.SetSessionExpiry(100)
	c.send(d)
	if rc := c.expectClosed(); rc != int(packet.ProtocolError) {
		t.Fatalf("DISCONNECT %#x, want 0x82", rc)
	}
}

func TestV3PersistentSessionUntilCleanConnect_MQTT_3_1_2_4(t *testing.T) {
	addr := start(t)
	c, _ := conn(t, addr, packet.V311, "v3p", false)
	c.subscribe(1, sub("v3/x", 1))
	c.disconnect()
	p, _ := conn(t, addr, packet.V311, "pub", true)
	time.Sleep(50 * time.Millisecond)
	p.publish("v3/x", "kept", 1, false, 1)
	c, ack := conn(t, addr, packet.V311, "v3p", false)
	if !ack.SessionPresent {
		t.Fatal("v3 persistent session lost")
	}
	m := c.expectPublish()
	if string(m.Payload) != "kept" {
		t.Fatalf("got %q", m.Payload)
	}
	c.send(&packet.Ack{PacketType: packet.PUBACK, PacketID: m.PacketID})
	c.disconnect()
	// A clean connect discards it; the next persistent connect starts fresh.
	c, _ = conn(t, addr, packet.V311, "v3p", true)
	c.disconnect()
	time.Sleep(50 * time.Millisecond)
	p.publish("v3/x", "lost", 1, false, 2)
	c, ack = conn(t, addr, packet.V311, "v3p", false)
	if ack.SessionPresent {
		t.Fatal("session present after a clean connect")
	}
	c.expectNothing(200 * time.Millisecond)
}

func TestV3PublisherToV5Subscriber(t *testing.T) {
	addr := start(t)
	s, _ := conn(t, addr, packet.V5, "s", true)
	s.subscribe(1, sub("mix", 2))
	p, _ := conn(t, addr, packet.V31, "p", true)
	p.publish("mix", "from 3.1", 2, false, 1)
	m := s.expectPublish()
	if string(m.Payload) != "from 3.1" || m.QoS != 2 || !m.Properties.Empty() {
		t.Fatalf("got %q qos %d props %+v", m.Payload, m.QoS, m.Properties)
	}
}

func TestWillPayloadFormatInvalid(t *testing.T) {
	c := dial(t, start(t), packet.V5)
	cp := willConnect("pf", true, 0, false)
	cp.WillPayload = []byte{0xff}
	cp.WillProperties.SetPayloadFormat(1)
	if ack := c.connect(cp); ack.ReasonCode != packet.PayloadFormatInvalid {
		t.Fatalf("CONNACK %v, want 0x99", ack.ReasonCode)
	}
	c.expectClosed()
}

// TestWillOnShutdown checks that the wills of clients still connected are
// published when the broker shuts down (their connections end without a
// DISCONNECT from them), before the subscribers get DISCONNECT 0x8B.
func TestWillOnShutdown(t *testing.T) {
	s, addr := brokertest.StartServer(t)
	w, _ := conn(t, addr, packet.V5, "will-watch", true)
	w.subscribe(1, sub("will/shutdown", 1))
	c := dial(t, addr, packet.V311)
	c.connect(&packet.Connect{ClientID: "online", CleanStart: true, KeepAlive: 60,
		WillFlag: true, WillTopic: "will/shutdown", WillPayload: []byte("gone"), WillQoS: 1})
	go s.Shutdown(t.Context())
	m := w.expectPublish()
	if string(m.Topic) != "will/shutdown" || string(m.Payload) != "gone" {
		t.Fatalf("got %s %q, want the will", m.Topic, m.Payload)
	}
	if rc := w.expectClosed(); rc != int(packet.ServerShuttingDown) {
		t.Fatalf("DISCONNECT %#x, want 0x8B", rc)
	}
}
