package mqttc

import (
	"bytes"
	"errors"
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
