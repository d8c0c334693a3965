package mqttc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/packets"
)

// Refusals mosquitto does not produce (it grants every SUBSCRIBE and acknowledges every
// PUBLISH) are checked against a scripted peer on a real loopback socket.

func scriptedPeer(t *testing.T, script func(c net.Conn) error) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		done <- script(c)
	}()
	t.Cleanup(func() {
		l.Close()
		if err := <-done; err != nil && !errors.Is(err, io.EOF) {
			t.Errorf("scripted peer: %v", err)
		}
	})
	return l.Addr().String()
}

// readRaw reads one MQTT packet: its first byte and its body.
func readRaw(r io.Reader) (byte, []byte, error) {
	var h [1]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, err
	}
	length, mult := 0, 1
	for {
		var b [1]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return 0, nil, err
		}
		length += int(b[0]&0x7f) * mult
		if b[0]&0x80 == 0 {
			break
		}
		mult *= 128
	}
	body := make([]byte, length)
	_, err := io.ReadFull(r, body)
	return h[0], body, err
}

func TestV3SubackFailure(t *testing.T) {
	for _, v := range []Version{V311, V31} {
		t.Run(v.String(), func(t *testing.T) {
			addr := scriptedPeer(t, func(c net.Conn) error {
				if _, _, err := readRaw(c); err != nil { // CONNECT
					return err
				}
				if _, err := c.Write([]byte{0x20, 2, 0, 0}); err != nil {
					return err
				}
				typ, body, err := readRaw(c)
				if err != nil {
					return err
				}
				if typ != 0x82 {
					return errors.New("expected SUBSCRIBE")
				}
				ack := []byte{0x90, 0, body[0], body[1]}
				for p := body[2:]; len(p) > 2; {
					n := int(p[0])<<8 | int(p[1])
					topic, qos := string(p[2:2+n]), p[2+n]
					if strings.HasPrefix(topic, "closed") {
						qos = 0x80
					}
					ack = append(ack, qos)
					p = p[3+n:]
				}
				ack[1] = byte(len(ack) - 2)
				if _, err := c.Write(ack); err != nil {
					return err
				}
				_, _, err = readRaw(c) // DISCONNECT or EOF
				return err
			})
			c, _ := connect(t, baseOptions(t, addr, v))
			subs := []Subscription{{Topic: "open/a", QoS: 1}, {Topic: "closed/b", QoS: 2}, {Topic: "open/c", QoS: 0}}
			codes, err := c.Subscribe(ctxT(t), subs, SubscribeOptions{})
			var re *RefusedError
			if !errors.As(err, &re) || re.Op != "subscribe" || re.Code != 0x80 || !strings.Contains(re.Reason, "closed/b") {
				t.Fatalf("err = %v, want a subscribe refusal 0x80 naming closed/b", err)
			}
			if !bytes.Equal(codes, []byte{1, 0x80, 0}) {
				t.Fatalf("codes = %v, want [1 128 0] in request order", codes)
			}
		})
	}
}

func TestV5Refusals(t *testing.T) {
	addr := scriptedPeer(t, func(c net.Conn) error {
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
			switch q := p.Content.(type) {
			case *packets.Subscribe:
				_, err = (&packets.Suback{PacketID: q.PacketID, Reasons: []byte{1, 0x87},
					Properties: &packets.Properties{ReasonString: "topic closed"}}).WriteTo(c)
			case *packets.Publish:
				if q.QoS == 1 {
					_, err = (&packets.Puback{PacketID: q.PacketID, ReasonCode: 0x97,
						Properties: &packets.Properties{ReasonString: "quota used up"}}).WriteTo(c)
				} else {
					_, err = (&packets.Pubrec{PacketID: q.PacketID, ReasonCode: 0x90, Properties: &packets.Properties{}}).WriteTo(c)
				}
			case *packets.Disconnect:
				return nil
			}
			if err != nil {
				return err
			}
		}
	})
	c, _ := connect(t, baseOptions(t, addr, V5))
	codes, err := c.Subscribe(ctxT(t), []Subscription{{Topic: "a", QoS: 1}, {Topic: "b", QoS: 1}}, SubscribeOptions{})
	var re *RefusedError
	if !errors.As(err, &re) || re.Code != 0x87 || re.Reason != "topic closed" || !bytes.Equal(codes, []byte{1, 0x87}) {
		t.Fatalf("subscribe: codes %v err %v, want 0x87 \"topic closed\"", codes, err)
	}
	err = c.Publish(ctxT(t), Message{Topic: "a", QoS: 1, Payload: []byte("x")})
	if !errors.As(err, &re) || re.Op != "publish" || re.Code != 0x97 || re.Reason != "quota used up" {
		t.Fatalf("publish qos 1: err = %v, want refusal 0x97 \"quota used up\"", err)
	}
	err = c.Publish(ctxT(t), Message{Topic: "a", QoS: 2, Payload: []byte("x")})
	if !errors.As(err, &re) || re.Code != 0x90 || re.Reason != "topic name invalid" {
		t.Fatalf("publish qos 2: err = %v, want refusal 0x90 with the code's name", err)
	}
	want := `publish refused by broker: topic name invalid (0x90)`
	if err.Error() != want {
		t.Fatalf("message = %q, want %q", err, want)
	}
}

func TestV5ConnackRefusalReasonString(t *testing.T) {
	addr := scriptedPeer(t, func(c net.Conn) error {
		if _, err := packets.ReadPacket(c); err != nil {
			return err
		}
		_, err := (&packets.Connack{ReasonCode: 0x8A, Properties: &packets.Properties{ReasonString: "you are banned"}}).WriteTo(c)
		return err
	})
	c, _ := New(baseOptions(t, addr, V5))
	_, err := c.Connect(ctxT(t))
	var re *RefusedError
	if !errors.As(err, &re) || re.Code != 0x8A || re.Reason != "you are banned" {
		t.Fatalf("err = %v, want refusal 0x8a with the broker's reason string", err)
	}
}

func TestCompletePackets(t *testing.T) {
	big := append([]byte{0x30, 0x80, 0x01}, make([]byte, 128)...) // remaining length 128
	tests := []struct {
		in   []byte
		want int
	}{
		{nil, 0},
		{[]byte{0x30}, 0},
		{[]byte{0x30, 2, 'a'}, 0},
		{[]byte{0x30, 2, 'a', 'b'}, 4},
		{[]byte{0xc0, 0, 0x30, 1}, 2},
		{[]byte{0xc0, 0, 0xe0, 0}, 4},
		{big[:100], 0},
		{big, len(big)},
		{[]byte{0x30, 0xff, 0xff, 0xff, 0xff, 0xff}, 6},
	}
	for _, tt := range tests {
		if got := completePackets(tt.in); got != tt.want {
			t.Errorf("completePackets(% x) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

// TestV3NoProtocolFallback checks that a 3.1.1 client refused with "unacceptable
// protocol version" reports it instead of retrying as 3.1 (paho.mqtt.golang's default).
func TestV3NoProtocolFallback(t *testing.T) {
	levels := make(chan byte, 2)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			if _, body, err := readRaw(c); err == nil && len(body) > 6 {
				levels <- body[6] // after the protocol name "MQTT"
				_, _ = c.Write([]byte{0x20, 2, 0, 1})
			}
			c.Close()
		}
	}()
	defer func() {
		l.Close()
		<-done
	}()
	c, _ := New(baseOptions(t, l.Addr().String(), V311))
	_, err = c.Connect(ctxT(t))
	var re *RefusedError
	if !errors.As(err, &re) || re.Code != 1 || re.Reason != "unacceptable protocol version" {
		t.Fatalf("err = %v, want refusal 1 (unacceptable protocol version)", err)
	}
	if lv := <-levels; lv != 4 {
		t.Fatalf("protocol level %d, want 4", lv)
	}
	select {
	case lv := <-levels:
		t.Fatalf("client retried with protocol level %d", lv)
	case <-time.After(300 * time.Millisecond):
	}
}

func TestV5ConnAckProperties(t *testing.T) {
	one, zero := byte(1), byte(0)
	rm, tam, ska := uint16(5), uint16(3), uint16(17)
	sei, mps := uint32(99), uint32(4096)
	addr := scriptedPeer(t, func(c net.Conn) error {
		if _, err := packets.ReadPacket(c); err != nil {
			return err
		}
		_, err := (&packets.Connack{SessionPresent: false, Properties: &packets.Properties{
			SessionExpiryInterval: &sei,
			ReceiveMaximum:        &rm,
			MaximumQOS:            &one,
			RetainAvailable:       &one,
			MaximumPacketSize:     &mps,
			AssignedClientID:      "given-by-peer",
			TopicAliasMaximum:     &tam,
			ReasonString:          "welcome",
			User:                  []packets.User{{Key: "z", Value: "1"}, {Key: "a", Value: "2"}, {Key: "z", Value: "3"}},
			WildcardSubAvailable:  &zero,
			ServerKeepAlive:       &ska,
			ResponseInfo:          "resp/",
			ServerReference:       "other:1883",
		}}).WriteTo(c)
		if err != nil {
			return err
		}
		_, err = packets.ReadPacket(c) // DISCONNECT
		return err
	})
	o := baseOptions(t, addr, V5)
	o.ClientID = ""
	_, ack := connect(t, o)
	p := ack.Properties
	if !ack.AssignedID || ack.ClientID != "given-by-peer" || p == nil {
		t.Fatalf("ack = %+v", ack)
	}
	check := func(name string, ok bool) {
		t.Helper()
		if !ok {
			t.Errorf("%s wrong: %+v", name, p)
		}
	}
	check("session expiry", p.SessionExpiryInterval != nil && *p.SessionExpiryInterval == 99)
	check("receive maximum", p.ReceiveMaximum != nil && *p.ReceiveMaximum == 5)
	check("maximum qos", p.MaximumQoS != nil && *p.MaximumQoS == 1)
	check("retain available", p.RetainAvailable != nil && *p.RetainAvailable)
	check("wildcard available", p.WildcardSubAvailable != nil && !*p.WildcardSubAvailable)
	check("sub id available (absent)", p.SubIDAvailable == nil)
	check("shared available (absent)", p.SharedSubAvailable == nil)
	check("maximum packet size", p.MaximumPacketSize != nil && *p.MaximumPacketSize == 4096)
	check("topic alias maximum", p.TopicAliasMaximum != nil && *p.TopicAliasMaximum == 3)
	check("server keep alive", p.ServerKeepAlive != nil && *p.ServerKeepAlive == 17)
	check("strings", p.ReasonString == "welcome" && p.ResponseInformation == "resp/" && p.ServerReference == "other:1883")
	check("user properties", fmt.Sprint(p.UserProperties) == "[{z 1} {a 2} {z 3}]")
}

func TestV5ConnectPacket(t *testing.T) {
	// "paho" leaves the encoding to paho.golang; "own" has will properties paho drops.
	for _, name := range []string{"paho", "own"} {
		t.Run(name, func(t *testing.T) { testV5ConnectPacket(t, name == "own") })
	}
}

func testV5ConnectPacket(t *testing.T, fullWill bool) {
	got := make(chan *packets.Connect, 1)
	addr := scriptedPeer(t, func(c net.Conn) error {
		p, err := packets.ReadPacket(c)
		if err != nil {
			return err
		}
		got <- p.Content.(*packets.Connect)
		// Echo the authentication method, as a broker that accepted it does.
		_, err = (&packets.Connack{Properties: &packets.Properties{AuthMethod: "token"}}).WriteTo(c)
		if err != nil {
			return err
		}
		_, err = packets.ReadPacket(c)
		return err
	})
	u16 := func(v uint16) *uint16 { return &v }
	u32 := func(v uint32) *uint32 { return &v }
	no, pf := false, byte(1)
	o := baseOptions(t, addr, V5)
	o.Username, o.Password, o.HasPassword = "", "", true // v5 allows a password alone, even empty
	o.KeepAlive, o.CleanStart = 42, false
	o.SessionExpiry, o.ReceiveMaximum, o.MaximumPacketSize, o.TopicAliasMaximum = u32(300), u16(7), u32(1<<20), u16(4)
	o.RequestResponseInfo, o.RequestProblemInfo = true, &no
	o.UserProperties = []UserProperty{{"k", "2"}, {"k", "1"}}
	o.AuthenticationMethod, o.AuthenticationData = "token", []byte{9, 8}
	o.Will = &Will{Topic: "w", Payload: []byte{0, 1}, QoS: 2, Retain: true, DelayInterval: u32(5),
		UserProperties: []UserProperty{{"wk", "wv"}}}
	if fullWill {
		o.Will.MessageExpiry, o.Will.PayloadFormat, o.Will.ContentType = u32(60), &pf, "text/plain"
		o.Will.ResponseTopic, o.Will.CorrelationData = "r", []byte("c")
	}
	if needsOwnConnect(&o) != fullWill {
		t.Fatalf("needsOwnConnect = %v", !fullWill)
	}
	connect(t, o)
	cp := <-got
	if cp.ClientID != o.ClientID || cp.KeepAlive != 42 || cp.CleanStart || !cp.PasswordFlag || cp.UsernameFlag || len(cp.Password) != 0 {
		t.Fatalf("connect header = %+v", cp)
	}
	p := cp.Properties
	if *p.SessionExpiryInterval != 300 || *p.ReceiveMaximum != 7 || *p.MaximumPacketSize != 1<<20 || *p.TopicAliasMaximum != 4 ||
		p.RequestResponseInfo == nil || *p.RequestResponseInfo != 1 || p.RequestProblemInfo == nil || *p.RequestProblemInfo != 0 ||
		p.AuthMethod != "token" || !bytes.Equal(p.AuthData, []byte{9, 8}) || fmt.Sprint(p.User) != "[{k 2} {k 1}]" {
		t.Fatalf("connect properties = %+v", p)
	}
	if !cp.WillFlag || cp.WillTopic != "w" || !bytes.Equal(cp.WillMessage, []byte{0, 1}) || cp.WillQOS != 2 || !cp.WillRetain {
		t.Fatalf("will = %+v", cp)
	}
	w := cp.WillProperties
	if w.WillDelayInterval == nil || *w.WillDelayInterval != 5 || fmt.Sprint(w.User) != "[{wk wv}]" {
		t.Fatalf("will properties = %s", w)
	}
	if fullWill && (w.MessageExpiry == nil || *w.MessageExpiry != 60 || w.PayloadFormat == nil || *w.PayloadFormat != 1 ||
		w.ContentType != "text/plain" || w.ResponseTopic != "r" || string(w.CorrelationData) != "c") {
		t.Fatalf("will properties = %s", w)
	}
}

func TestV5InboundTopicAlias(t *testing.T) {
	addr := scriptedPeer(t, func(c net.Conn) error {
		if _, err := packets.ReadPacket(c); err != nil {
			return err
		}
		if _, err := (&packets.Connack{Properties: &packets.Properties{}}).WriteTo(c); err != nil {
			return err
		}
		one := uint16(1)
		for i, topic := range []string{"sensors/1", "", ""} {
			pub := &packets.Publish{Topic: topic, QoS: 0, Payload: []byte{byte('a' + i)}, Properties: &packets.Properties{TopicAlias: &one}}
			if _, err := pub.WriteTo(c); err != nil {
				return err
			}
		}
		_, err := packets.ReadPacket(c)
		return err
	})
	in := newInbox()
	o := baseOptions(t, addr, V5)
	tam := uint16(5)
	o.TopicAliasMaximum = &tam
	o.OnMessage = in.handler
	connect(t, o)
	for i := range 3 {
		m := in.next(t, 5*time.Second)
		if m.Topic != "sensors/1" || m.Payload[0] != byte('a'+i) || m.Properties == nil || m.Properties.TopicAlias == nil || *m.Properties.TopicAlias != 1 {
			t.Fatalf("message %d: topic %q payload %q props %+v, want sensors/1 via alias 1", i, m.Topic, m.Payload, m.Properties)
		}
	}
}

func TestV3EmptyPassword(t *testing.T) {
	for _, v := range []Version{V311, V31} {
		t.Run(v.String(), func(t *testing.T) {
			got := make(chan []byte, 1)
			addr := scriptedPeer(t, func(c net.Conn) error {
				_, body, err := readRaw(c)
				if err != nil {
					return err
				}
				got <- body
				if _, err := c.Write([]byte{0x20, 2, 0, 0}); err != nil {
					return err
				}
				_, _, err = readRaw(c)
				return err
			})
			o := baseOptions(t, addr, v)
			o.Username, o.Password, o.HasPassword = "user", "", true
			connect(t, o)
			body := <-got
			nameLen := int(body[1])
			flags := body[2+nameLen+1]
			if flags&0xC0 != 0xC0 {
				t.Fatalf("flags = %08b, want username and password flags", flags)
			}
			if !bytes.HasSuffix(body, []byte{0, 4, 'u', 's', 'e', 'r', 0, 0}) {
				t.Fatalf("payload ends % x, want user then an empty password", body[len(body)-8:])
			}
		})
	}
}
