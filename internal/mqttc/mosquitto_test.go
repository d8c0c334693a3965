package mqttc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mqttx/mqttx/internal/mosquittotest"
)

func binaryPayload() []byte {
	p := make([]byte, 0, 300)
	for i := range 256 {
		p = append(p, byte(i))
	}
	return append(p, 0, 0xff, '\n', '\r', 0)
}

func TestConnectConnAck(t *testing.T) {
	addr := mosquittotest.Start(t)
	for _, v := range versions {
		t.Run(v.String(), func(t *testing.T) {
			o := baseOptions(t, addr, v)
			_, ack := connect(t, o)
			if ack.ReasonCode != 0 || ack.SessionPresent {
				t.Fatalf("ack = %+v, want reason 0, no session", ack)
			}
			if ack.ClientID != o.ClientID || ack.AssignedID {
				t.Fatalf("client id = %q (assigned %v), want %q", ack.ClientID, ack.AssignedID, o.ClientID)
			}
			if v == V5 {
				p := ack.Properties
				if p == nil {
					t.Fatal("MQTT 5 CONNACK without properties from mosquitto")
				}
				// mosquitto 2.0 defaults: max_inflight_messages 20, max_topic_alias 10.
				if p.ReceiveMaximum == nil || *p.ReceiveMaximum != 20 || p.TopicAliasMaximum == nil || *p.TopicAliasMaximum != 10 {
					t.Fatalf("CONNACK properties = %+v, want receive maximum 20 and topic alias maximum 10", p)
				}
			} else if ack.Properties != nil {
				t.Fatalf("MQTT %s CONNACK has properties %+v", v, ack.Properties)
			}
		})
	}
	t.Run("5/assigned-id", func(t *testing.T) {
		o := baseOptions(t, addr, V5)
		o.ClientID = ""
		_, ack := connect(t, o)
		if !ack.AssignedID || ack.ClientID == "" || ack.Properties.AssignedClientID != ack.ClientID {
			t.Fatalf("ack = %+v props %+v, want an assigned client id", ack, ack.Properties)
		}
	})
	t.Run("5/server-keepalive", func(t *testing.T) {
		addr := mosquittotest.Start(t, mosquittotest.WithMaxKeepalive(20))
		o := baseOptions(t, addr, V5)
		o.KeepAlive = 60
		_, ack := connect(t, o)
		if ack.Properties == nil || ack.Properties.ServerKeepAlive == nil || *ack.Properties.ServerKeepAlive != 20 {
			t.Fatalf("properties = %+v, want server keep alive 20", ack.Properties)
		}
	})
}

func TestPubSubRoundTrip(t *testing.T) {
	addr := mosquittotest.Start(t)
	payload := binaryPayload()
	for _, v := range versions {
		t.Run(v.String(), func(t *testing.T) {
			in := newInbox()
			so := baseOptions(t, addr, v)
			so.OnMessage = in.handler
			sub, _ := connect(t, so)
			prefix := "rt/" + strings.ReplaceAll(v.String(), ".", "_")
			codes, err := sub.Subscribe(ctxT(t), []Subscription{{Topic: prefix + "/+/x", QoS: 2}, {Topic: prefix + "/other", QoS: 1}}, SubscribeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(codes, []byte{2, 1}) {
				t.Fatalf("granted = %v, want [2 1]", codes)
			}
			pub, _ := connect(t, baseOptions(t, addr, v))
			for q := byte(0); q <= 2; q++ {
				topic := fmt.Sprintf("%s/q%d/x", prefix, q)
				if err := pub.Publish(ctxT(t), Message{Topic: topic, QoS: q, Payload: payload}); err != nil {
					t.Fatalf("publish qos %d: %v", q, err)
				}
				m := in.next(t, 5*time.Second)
				if m.Topic != topic || m.QoS != q || m.Retain || m.Dup || !bytes.Equal(m.Payload, payload) {
					t.Fatalf("got topic %q qos %d retain %v dup %v payload %d bytes; want %q qos %d, exact payload",
						m.Topic, m.QoS, m.Retain, m.Dup, len(m.Payload), topic, q)
				}
				if m.ReceivedAt.IsZero() {
					t.Fatal("ReceivedAt not set")
				}
				if v != V5 && m.Properties != nil {
					t.Fatalf("3.x message with properties %+v", m.Properties)
				}
			}
			// Empty payload and the second filter.
			if err := pub.Publish(ctxT(t), Message{Topic: prefix + "/other", QoS: 1}); err != nil {
				t.Fatal(err)
			}
			if m := in.next(t, 5*time.Second); m.Topic != prefix+"/other" || len(m.Payload) != 0 || m.QoS != 1 {
				t.Fatalf("got %+v", m)
			}
			if err := sub.Unsubscribe(ctxT(t), prefix+"/+/x"); err != nil {
				t.Fatal(err)
			}
			if err := pub.Publish(ctxT(t), Message{Topic: prefix + "/q1/x", QoS: 1, Payload: []byte("after")}); err != nil {
				t.Fatal(err)
			}
			in.none(t, 300*time.Millisecond)
		})
	}
}

func TestOrderUnderLoad(t *testing.T) {
	addr := mosquittotest.Start(t)
	for _, v := range versions {
		t.Run(v.String(), func(t *testing.T) {
			in := newInbox()
			so := baseOptions(t, addr, v)
			so.OnMessage = in.handler
			sub, _ := connect(t, so)
			topic := "order/" + strings.ReplaceAll(v.String(), ".", "_")
			if _, err := sub.Subscribe(ctxT(t), []Subscription{{Topic: topic, QoS: 1}}, SubscribeOptions{}); err != nil {
				t.Fatal(err)
			}
			pub, _ := connect(t, baseOptions(t, addr, v))
			// MQTT orders messages per topic and QoS, so each QoS gets its own run.
			const n = 150
			for q := byte(0); q <= 2; q++ {
				for i := range n {
					if err := pub.Publish(ctxT(t), Message{Topic: topic, QoS: q, Payload: []byte(fmt.Sprint(i))}); err != nil {
						t.Fatal(err)
					}
				}
				for i := range n {
					m := in.next(t, 5*time.Second)
					if string(m.Payload) != fmt.Sprint(i) || m.QoS != min(q, 1) {
						t.Fatalf("qos %d: message %d has payload %q qos %d: out of order", q, i, m.Payload, m.QoS)
					}
				}
			}
		})
	}
}

func TestRetainedOnNewSubscriber(t *testing.T) {
	addr := mosquittotest.Start(t)
	for _, v := range versions {
		t.Run(v.String(), func(t *testing.T) {
			topic := "retained/" + strings.ReplaceAll(v.String(), ".", "_")
			pub, _ := connect(t, baseOptions(t, addr, v))
			if err := pub.Publish(ctxT(t), Message{Topic: topic, QoS: 1, Retain: true, Payload: []byte("kept")}); err != nil {
				t.Fatal(err)
			}
			in := newInbox()
			so := baseOptions(t, addr, v)
			so.OnMessage = in.handler
			sub, _ := connect(t, so)
			if _, err := sub.Subscribe(ctxT(t), []Subscription{{Topic: topic, QoS: 1}}, SubscribeOptions{}); err != nil {
				t.Fatal(err)
			}
			m := in.next(t, 5*time.Second)
			if !m.Retain || string(m.Payload) != "kept" || m.QoS != 1 {
				t.Fatalf("got retain %v payload %q qos %d, want retained \"kept\" at qos 1", m.Retain, m.Payload, m.QoS)
			}
			// A live publish to an existing subscriber is not flagged retained.
			if err := pub.Publish(ctxT(t), Message{Topic: topic, QoS: 0, Retain: true, Payload: []byte("live")}); err != nil {
				t.Fatal(err)
			}
			if m := in.next(t, 5*time.Second); m.Retain || string(m.Payload) != "live" {
				t.Fatalf("live retained publish: retain %v payload %q, want not retained \"live\"", m.Retain, m.Payload)
			}
		})
	}
}

func TestPersistentSession(t *testing.T) {
	addr := mosquittotest.Start(t)
	for _, v := range versions {
		t.Run(v.String(), func(t *testing.T) {
			topic := "persist/" + strings.ReplaceAll(v.String(), ".", "_")
			so := baseOptions(t, addr, v)
			so.CleanStart = false
			if v == V5 {
				exp := uint32(60)
				so.SessionExpiry = &exp
			}
			first, err := New(so)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := first.Connect(ctxT(t)); err != nil {
				t.Fatal(err)
			}
			if _, err := first.Subscribe(ctxT(t), []Subscription{{Topic: topic, QoS: 1}}, SubscribeOptions{}); err != nil {
				t.Fatal(err)
			}
			if err := first.Disconnect(ctxT(t)); err != nil {
				t.Fatal(err)
			}
			pub, _ := connect(t, baseOptions(t, addr, v))
			for i := 1; i <= 3; i++ {
				if err := pub.Publish(ctxT(t), Message{Topic: topic, QoS: 1, Payload: []byte(fmt.Sprintf("m%d", i))}); err != nil {
					t.Fatal(err)
				}
			}
			in := newInbox()
			so.OnMessage = in.handler
			_, ack := connect(t, so)
			// MQTT 3.1's CONNACK has no session present flag.
			if !ack.SessionPresent && v != V31 {
				t.Fatal("session present = false after reconnecting with clean=false")
			}
			for i := 1; i <= 3; i++ {
				m := in.next(t, 5*time.Second)
				if want := fmt.Sprintf("m%d", i); string(m.Payload) != want || m.QoS != 1 {
					t.Fatalf("queued message %d = %q qos %d, want %q qos 1", i, m.Payload, m.QoS, want)
				}
			}
			in.none(t, 200*time.Millisecond)
		})
	}
}

func TestWill(t *testing.T) {
	addr := mosquittotest.Start(t)
	for _, v := range versions {
		for _, kill := range []bool{true, false} {
			name := v.String() + "/disconnect"
			if kill {
				name = v.String() + "/kill"
			}
			t.Run(name, func(t *testing.T) {
				topic := "will/" + strings.ReplaceAll(name, ".", "_")
				in := newInbox()
				wo := baseOptions(t, addr, v)
				wo.OnMessage = in.handler
				watcher, _ := connect(t, wo)
				if _, err := watcher.Subscribe(ctxT(t), []Subscription{{Topic: topic, QoS: 1}}, SubscribeOptions{}); err != nil {
					t.Fatal(err)
				}
				o := baseOptions(t, addr, v)
				o.Will = &Will{Topic: topic, Payload: []byte("gone"), QoS: 1}
				lost := make(chan error, 1)
				o.OnConnectionLost = func(err error) { lost <- err }
				c, err := New(o)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := c.Connect(ctxT(t)); err != nil {
					t.Fatal(err)
				}
				if kill {
					if err := c.Kill(); err != nil {
						t.Fatal(err)
					}
					m := in.next(t, 5*time.Second)
					if m.Topic != topic || string(m.Payload) != "gone" {
						t.Fatalf("will = %q on %q", m.Payload, m.Topic)
					}
				} else {
					if err := c.Disconnect(ctxT(t)); err != nil {
						t.Fatal(err)
					}
					in.none(t, 500*time.Millisecond)
				}
				// Both are idempotent, and neither counts as a lost connection.
				if err := c.Kill(); err != nil {
					t.Fatal(err)
				}
				if err := c.Disconnect(ctxT(t)); err != nil {
					t.Fatal(err)
				}
				select {
				case err := <-lost:
					t.Fatalf("OnConnectionLost called after a deliberate close: %v", err)
				default:
				}
			})
		}
	}
}

func TestV5WillProperties(t *testing.T) {
	addr := mosquittotest.Start(t)
	in := newInbox()
	wo := baseOptions(t, addr, V5)
	wo.OnMessage = in.handler
	watcher, _ := connect(t, wo)
	if _, err := watcher.Subscribe(ctxT(t), []Subscription{{Topic: "will5/#", QoS: 1}}, SubscribeOptions{}); err != nil {
		t.Fatal(err)
	}
	pf, exp := byte(1), uint32(300)
	o := baseOptions(t, addr, V5)
	o.Will = &Will{Topic: "will5/x", Payload: []byte("bye"), QoS: 1, PayloadFormat: &pf, MessageExpiry: &exp,
		ContentType: "text/plain", ResponseTopic: "will5/reply", CorrelationData: []byte{7},
		UserProperties: []UserProperty{{"b", "1"}, {"a", "2"}}}
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if err := c.Kill(); err != nil {
		t.Fatal(err)
	}
	m := in.next(t, 5*time.Second)
	p := m.Properties
	if string(m.Payload) != "bye" || p == nil || p.ContentType != "text/plain" || p.ResponseTopic != "will5/reply" ||
		!bytes.Equal(p.CorrelationData, []byte{7}) || p.PayloadFormat == nil || *p.PayloadFormat != 1 ||
		p.MessageExpiry == nil || fmt.Sprint(p.UserProperties) != "[{b 1} {a 2}]" {
		t.Fatalf("will = %q with properties %+v", m.Payload, p)
	}
}

func TestBadCredentialsRefused(t *testing.T) {
	addr := mosquittotest.Start(t, mosquittotest.WithUser("alice", "s3cret"))
	// mosquitto 2.0 answers a wrong password with "not authorized" on every version.
	want := map[Version]byte{V5: 0x87, V311: 5, V31: 5}
	for _, v := range versions {
		t.Run(v.String(), func(t *testing.T) {
			o := baseOptions(t, addr, v)
			o.Username, o.Password, o.HasPassword = "alice", "wrong", true
			c, err := New(o)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Connect(ctxT(t))
			var re *RefusedError
			if !errors.As(err, &re) {
				t.Fatalf("err = %v (%T), want *RefusedError", err, err)
			}
			if re.Op != "connect" || re.Code != want[v] || re.Reason == "" {
				t.Fatalf("refusal = %+v, want connect code 0x%02x with a reason", re, want[v])
			}
			t.Logf("refusal: %v", err)
			o.Password = "s3cret"
			_, ack := connect(t, o)
			if ack.ReasonCode != 0 {
				t.Fatalf("good credentials: %+v", ack)
			}
		})
	}
}

func TestEmptyClientIDWithoutCleanSession311(t *testing.T) {
	addr := mosquittotest.Start(t)
	o := baseOptions(t, addr, V311)
	o.ClientID, o.CleanStart = "", false
	c, _ := New(o)
	_, err := c.Connect(ctxT(t))
	var re *RefusedError
	if !errors.As(err, &re) || re.Code != 2 || !strings.Contains(re.Reason, "clean session") {
		t.Fatalf("err = %v, want a refusal with code 2 explaining the clean session", err)
	}
}

func TestNothingListening(t *testing.T) {
	addr := mosquittotest.Start(t) // a port that was free; stop it to get a closed one
	for _, v := range versions {
		t.Run(v.String(), func(t *testing.T) {
			o := baseOptions(t, addr, v)
			o.Port = closedPort(t)
			c, _ := New(o)
			_, err := c.Connect(ctxT(t))
			var re *RefusedError
			if err == nil || errors.As(err, &re) {
				t.Fatalf("err = %v, want a plain connection error", err)
			}
			if !strings.Contains(err.Error(), "refused") {
				t.Fatalf("err = %q, want it to say connection refused", err)
			}
			// Calls on an unconnected client fail cleanly.
			if err := c.Publish(ctxT(t), Message{Topic: "x"}); err == nil {
				t.Fatal("publish on a failed client succeeded")
			}
			if err := c.Disconnect(ctxT(t)); err != nil {
				t.Fatalf("disconnect after failed connect: %v", err)
			}
		})
	}
}

func TestUnknownHost(t *testing.T) {
	for _, v := range versions {
		t.Run(v.String(), func(t *testing.T) {
			o := Options{Version: v, Host: "no-such-host..invalid", Port: 1883, ClientID: "x", CleanStart: true, ConnectTimeout: 3 * time.Second}
			c, err := New(o)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Connect(ctxT(t))
			var re *RefusedError
			if err == nil || errors.As(err, &re) {
				t.Fatalf("err = %v, want a lookup error", err)
			}
			if !strings.Contains(err.Error(), "no-such-host..invalid") {
				t.Fatalf("err = %q does not name the host", err)
			}
		})
	}
}

func TestV5Properties(t *testing.T) {
	addr := mosquittotest.Start(t)
	in := newInbox()
	so := baseOptions(t, addr, V5)
	so.OnMessage = in.handler
	sub, _ := connect(t, so)
	id := 7
	if _, err := sub.Subscribe(ctxT(t), []Subscription{{Topic: "props/#", QoS: 1}}, SubscribeOptions{SubscriptionID: &id, UserProperties: []UserProperty{{"s", "1"}}}); err != nil {
		t.Fatal(err)
	}
	pub, _ := connect(t, baseOptions(t, addr, V5))
	pf, exp := byte(1), uint32(120)
	sent := &PublishProperties{
		PayloadFormat:   &pf,
		MessageExpiry:   &exp,
		ResponseTopic:   "props/reply",
		CorrelationData: []byte{0, 1, 2, 0xff},
		UserProperties:  []UserProperty{{"b", "2"}, {"a", "1"}, {"b", "3"}, {"", ""}},
		ContentType:     "application/json",
	}
	if err := pub.Publish(ctxT(t), Message{Topic: "props/x", QoS: 1, Payload: []byte(`{"a":1}`), Properties: sent}); err != nil {
		t.Fatal(err)
	}
	m := in.next(t, 5*time.Second)
	got := m.Properties
	if got == nil {
		t.Fatal("no properties received")
	}
	if got.PayloadFormat == nil || *got.PayloadFormat != 1 || got.MessageExpiry == nil || *got.MessageExpiry == 0 || *got.MessageExpiry > 120 {
		t.Fatalf("payload format / expiry = %v / %v", got.PayloadFormat, got.MessageExpiry)
	}
	if got.ResponseTopic != sent.ResponseTopic || got.ContentType != sent.ContentType || !bytes.Equal(got.CorrelationData, sent.CorrelationData) {
		t.Fatalf("got %+v", got)
	}
	if fmt.Sprint(got.UserProperties) != fmt.Sprint(sent.UserProperties) {
		t.Fatalf("user properties = %v, want %v in order", got.UserProperties, sent.UserProperties)
	}
	if len(got.SubscriptionIDs) != 1 || got.SubscriptionIDs[0] != 7 {
		t.Fatalf("subscription ids = %v, want [7]", got.SubscriptionIDs)
	}
	// No properties in, no properties out.
	if err := pub.Publish(ctxT(t), Message{Topic: "props/y", QoS: 0, Payload: []byte("p")}); err != nil {
		t.Fatal(err)
	}
	if m := in.next(t, 5*time.Second); m.Properties == nil || len(m.Properties.SubscriptionIDs) != 1 || m.Properties.UserProperties != nil {
		t.Fatalf("plain message properties = %+v, want only the subscription id", m.Properties)
	}
}

func TestV5SubscribeOptions(t *testing.T) {
	addr := mosquittotest.Start(t)
	in := newInbox()
	o := baseOptions(t, addr, V5)
	o.OnMessage = in.handler
	c, _ := connect(t, o)
	if err := c.Publish(ctxT(t), Message{Topic: "opt/r", QoS: 1, Retain: true, Payload: []byte("r")}); err != nil {
		t.Fatal(err)
	}
	// Retain handling 2: no retained messages on subscribe; no local: our own publishes skipped.
	if _, err := c.Subscribe(ctxT(t), []Subscription{{Topic: "opt/#", QoS: 1, NoLocal: true, RetainHandling: 2}}, SubscribeOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.Publish(ctxT(t), Message{Topic: "opt/own", QoS: 1, Payload: []byte("own")}); err != nil {
		t.Fatal(err)
	}
	in.none(t, 300*time.Millisecond)
	// Retain as published keeps the flag on live delivery.
	in2 := newInbox()
	o2 := baseOptions(t, addr, V5)
	o2.OnMessage = in2.handler
	c2, _ := connect(t, o2)
	if _, err := c2.Subscribe(ctxT(t), []Subscription{{Topic: "rap/#", QoS: 1, RetainAsPublished: true, RetainHandling: 2}}, SubscribeOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.Publish(ctxT(t), Message{Topic: "rap/x", QoS: 1, Retain: true, Payload: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	if m := in2.next(t, 5*time.Second); !m.Retain {
		t.Fatal("retain as published: retain flag dropped")
	}
}

func TestV5ServerDisconnect(t *testing.T) {
	addr := mosquittotest.Start(t)
	// Topic alias 0 is a protocol error: mosquitto answers with DISCONNECT 0x81 and closes.
	// Rarely the close reaches us as a reset that discards the DISCONNECT, so a plain
	// connection loss is tolerated on up to two of three attempts.
	var seen []error
	for attempt := 0; attempt < 3; attempt++ {
		err := serverDisconnectOnce(t, addr)
		var de *DisconnectError
		if errors.As(err, &de) {
			if de.Code != 0x81 || de.Reason != "malformed packet" {
				t.Fatalf("lost = %v, want DisconnectError 0x81 (mosquitto 2.0 on topic alias 0)", err)
			}
			return
		}
		seen = append(seen, err)
	}
	t.Fatalf("no DisconnectError in 3 attempts: %v", seen)
}

func serverDisconnectOnce(t *testing.T, addr string) error {
	o := baseOptions(t, addr, V5)
	o.KeepAlive = 0 // no PINGREQ racing the broker's close
	lost := make(chan error, 2)
	o.OnConnectionLost = func(err error) { lost <- err }
	c, _ := connect(t, o)
	zero := uint16(0)
	_ = c.Publish(ctxT(t), Message{Topic: "alias", QoS: 0, Properties: &PublishProperties{TopicAlias: &zero}})
	var err error
	select {
	case err = <-lost:
	case <-time.After(5 * time.Second):
		t.Fatal("OnConnectionLost not called after the broker's DISCONNECT")
	}
	select {
	case err2 := <-lost:
		t.Fatalf("OnConnectionLost called twice: %v, then %v", err, err2)
	case <-time.After(200 * time.Millisecond):
	}
	return err
}

func TestConnectionLostWhenBrokerStops(t *testing.T) {
	for _, v := range versions {
		t.Run(v.String(), func(t *testing.T) {
			b := mosquittotest.StartBroker(t)
			o := baseOptions(t, b.Addr, v)
			lost := make(chan error, 2)
			o.OnConnectionLost = func(err error) { lost <- err }
			c, _ := connect(t, o)
			b.Stop()
			select {
			case err := <-lost:
				if err == nil {
					t.Fatal("nil error")
				}
			case <-time.After(5 * time.Second):
				t.Fatal("OnConnectionLost not called after the broker stopped")
			}
			start := time.Now()
			if err := c.Publish(ctxT(t), Message{Topic: "x", QoS: 1}); err == nil {
				t.Fatal("publish after loss succeeded")
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Fatalf("publish after loss took %s: it should fail at once, not at the deadline", d)
			}
			if err := c.Disconnect(ctxT(t)); err != nil {
				t.Fatalf("disconnect after loss: %v", err)
			}
		})
	}
}

func TestWebSocket(t *testing.T) {
	b := mosquittotest.StartBroker(t, mosquittotest.WithWebSocket())
	for _, v := range versions {
		t.Run(v.String(), func(t *testing.T) {
			in := newInbox()
			o := baseOptions(t, b.WSAddr, v)
			o.Scheme = "ws"
			o.OnMessage = in.handler
			c, _ := connect(t, o)
			topic := "ws/" + strings.ReplaceAll(v.String(), ".", "_")
			if _, err := c.Subscribe(ctxT(t), []Subscription{{Topic: topic, QoS: 2}}, SubscribeOptions{}); err != nil {
				t.Fatal(err)
			}
			// Publish over plain TCP, receive over WebSocket, and the other way round.
			tcp, _ := connect(t, baseOptions(t, b.Addr, v))
			big := bytes.Repeat(binaryPayload(), 40) // ~10 KB: several reads on both sides
			for _, p := range []Client{tcp, c} {
				if err := p.Publish(ctxT(t), Message{Topic: topic, QoS: 1, Payload: big}); err != nil {
					t.Fatal(err)
				}
				if m := in.next(t, 5*time.Second); !bytes.Equal(m.Payload, big) {
					t.Fatalf("payload over websocket: %d bytes, want %d", len(m.Payload), len(big))
				}
			}
		})
	}
	t.Run("bad-path", func(t *testing.T) {
		o := baseOptions(t, b.WSAddr, V5)
		o.Scheme = "ws"
		o.WSPath = "/nope"
		c, _ := New(o)
		// mosquitto accepts any path; what matters is that the path is sent and nothing hangs.
		if _, err := c.Connect(ctxT(t)); err == nil {
			_ = c.Disconnect(ctxT(t))
		}
	})
}

func TestTLS(t *testing.T) {
	pki := newPKI(t)
	b := mosquittotest.StartBroker(t,
		mosquittotest.WithTLS(mosquittotest.TLSListener{CertFile: pki.CertFile, KeyFile: pki.KeyFile}),
		mosquittotest.WithWSS(mosquittotest.TLSListener{CertFile: pki.CertFile, KeyFile: pki.KeyFile}))
	cases := []struct {
		scheme, addr string
	}{{"mqtts", b.TLSAddr}, {"wss", b.WSSAddr}}
	for _, tc := range cases {
		for _, v := range []Version{V5, V311} {
			t.Run(tc.scheme+"/"+v.String(), func(t *testing.T) {
				o := baseOptions(t, tc.addr, v)
				o.Scheme = tc.scheme
				o.TLS.CAFile = pki.CAFile
				in := newInbox()
				o.OnMessage = in.handler
				c, _ := connect(t, o)
				if _, err := c.Subscribe(ctxT(t), []Subscription{{Topic: "tls", QoS: 1}}, SubscribeOptions{}); err != nil {
					t.Fatal(err)
				}
				if err := c.Publish(ctxT(t), Message{Topic: "tls", QoS: 1, Payload: []byte("secret")}); err != nil {
					t.Fatal(err)
				}
				if m := in.next(t, 5*time.Second); string(m.Payload) != "secret" {
					t.Fatalf("payload %q", m.Payload)
				}

				o.TLS.CAFile = ""
				o.OnMessage = nil
				nc, _ := New(o)
				_, err := nc.Connect(ctxT(t))
				var re *RefusedError
				if err == nil || errors.As(err, &re) || !strings.Contains(err.Error(), "unknown authority") {
					t.Fatalf("without CA: err = %v, want an unknown authority error", err)
				}
				o.TLS.CAFile = pki.OtherCAFile
				nc, _ = New(o)
				if _, err := nc.Connect(ctxT(t)); err == nil || !strings.Contains(err.Error(), "unknown authority") {
					t.Fatalf("with the wrong CA: err = %v, want unknown authority", err)
				}

				o.TLS.CAFile = ""
				o.TLS.Insecure = true
				connect(t, o)

				o.TLS = TLSOptions{CAFile: pki.CAFile, ServerName: "wrong.example"}
				nc, _ = New(o)
				if _, err := nc.Connect(ctxT(t)); err == nil || !strings.Contains(err.Error(), "wrong.example") {
					t.Fatalf("wrong server name: err = %v", err)
				}
			})
		}
	}
}

func TestTLSClientCertificate(t *testing.T) {
	pki := newPKI(t)
	b := mosquittotest.StartBroker(t, mosquittotest.WithTLS(mosquittotest.TLSListener{
		CertFile: pki.CertFile, KeyFile: pki.KeyFile, CAFile: pki.CAFile, RequireCertificate: true}))
	o := baseOptions(t, b.TLSAddr, V5)
	o.Scheme = "mqtts"
	o.TLS = TLSOptions{CAFile: pki.CAFile, CertFile: pki.ClientCert, KeyFile: pki.ClientKey}
	connect(t, o)
	o.TLS.CertFile, o.TLS.KeyFile = "", ""
	c, _ := New(o)
	if _, err := c.Connect(ctxT(t)); err == nil {
		t.Fatal("connected without the required client certificate")
	}
}

func TestConnectTimeout(t *testing.T) {
	// A listener that accepts and never answers: the CONNACK wait must be bounded.
	ln := silentListener(t)
	type tc struct {
		v      Version
		scheme string
	}
	var cases []tc
	for _, v := range versions {
		cases = append(cases, tc{v, "mqtt"})
	}
	// A stalled TLS or WebSocket handshake is bounded by the same timeout.
	cases = append(cases, tc{V5, "mqtts"}, tc{V5, "ws"}, tc{V311, "wss"}, tc{V311, "ws"})
	for _, tc := range cases {
		v := tc.v
		t.Run(tc.scheme+"/"+v.String(), func(t *testing.T) {
			o := baseOptions(t, ln, v)
			o.Scheme = tc.scheme
			o.ConnectTimeout = 300 * time.Millisecond
			c, _ := New(o)
			start := time.Now()
			_, err := c.Connect(context.Background())
			if err == nil || !strings.Contains(err.Error(), "no answer within 300ms") {
				t.Fatalf("err = %v, want a timeout naming 300ms", err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("connect took %s despite a 300ms timeout", d)
			}
		})
	}
}
