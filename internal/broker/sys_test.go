package broker_test

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/mqttx/mqttx/internal/broker"
	"github.com/mqttx/mqttx/internal/broker/auth"
	"github.com/mqttx/mqttx/internal/broker/brokertest"
	"github.com/mqttx/mqttx/internal/packet"
)

// waitSys reads PUBLISHes until topic carries want.
func waitSys(t *testing.T, c *rawClient, topic, want string) {
	t.Helper()
	if last, ok := waitSysFor(c, topic, func(v string) bool { return v == want }); !ok {
		t.Fatalf("%s never became %q (last %q)", topic, want, last)
	}
}

// waitSysFor reads PUBLISHes until topic carries a payload done accepts, for
// at most 10 s, and returns the last payload of topic and whether done
// accepted it.
func waitSysFor(c *rawClient, topic string, done func(string) bool) (string, bool) {
	last := ""
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		p, err := c.readErr(5 * time.Second)
		if err != nil {
			break
		}
		if m, ok := p.(*packet.Publish); ok && string(m.Topic) == topic {
			if last = string(m.Payload); done(last) {
				return last, true
			}
		}
	}
	return last, false
}

func TestSysTopics(t *testing.T) {
	addr := brokertest.Start(t, func(o *broker.Options) { o.SysInterval = 20 * time.Millisecond; o.Version = "v9" })
	mon, _ := conn(t, addr, packet.V5, "mon", true)
	mon.subscribe(1, sub("$SYS/broker/#", 0), sub("#", 0))
	waitSys(t, mon, "$SYS/broker/version", "mqttx v9")
	pub, _ := conn(t, addr, packet.V311, "pub", true)
	for i := range 3 {
		pub.publish("t/x", "m", 1, i == 0, uint16(i+1))
	}
	waitSys(t, mon, "$SYS/broker/clients/connected", "2")
	waitSys(t, mon, "$SYS/broker/messages/received", "3")
	// mon received the three, and the $SYS messages it got are counted too:
	// read only that the count is published.
	waitSys(t, mon, "$SYS/broker/subscriptions/count", "2")
	pub.disconnect()
	waitSys(t, mon, "$SYS/broker/clients/connected", "1")
	waitSys(t, mon, "$SYS/broker/messages/received", "3") // kept after the session ended
}

// TestSysTopicsReadOnlyWhereTheACLAllows checks that the broker's own
// messages go through the same read check as any other.
func TestSysTopicsReadOnlyWhereTheACLAllows(t *testing.T) {
	a, err := auth.ParseACL([]byte("topic read $SYS/broker/uptime\ntopic read t\n"))
	if err != nil {
		t.Fatal(err)
	}
	addr := brokertest.Start(t, func(o *broker.Options) {
		o.SysInterval = 20 * time.Millisecond
		o.Authorizer = &auth.Policy{ACL: a}
	})
	c, _ := conn(t, addr, packet.V311, "c", true)
	c.subscribe(1, sub("$SYS/#", 0))
	for range 20 {
		p := c.expectPublish()
		if string(p.Topic) != "$SYS/broker/uptime" {
			t.Fatalf("got %s, which the ACL does not let it read", p.Topic)
		}
	}
}

// waitSysAtLeast reads PUBLISHes until topic carries a number of at least
// want, and returns it.
func waitSysAtLeast(t *testing.T, c *rawClient, topic string, want uint64) uint64 {
	t.Helper()
	var n uint64
	last, ok := waitSysFor(c, topic, func(v string) bool {
		var err error
		n, err = strconv.ParseUint(v, 10, 64)
		return err == nil && n >= want
	})
	if !ok {
		t.Fatalf("%s never reached %d (last %q)", topic, want, last)
	}
	return n
}

// TestSysBytesAndDropped checks $SYS/broker/bytes/received and sent, and
// $SYS/broker/publish/messages/dropped, as a subscriber reads them.
func TestSysBytesAndDropped(t *testing.T) {
	addr := brokertest.Start(t, func(o *broker.Options) { o.SysInterval = 20 * time.Millisecond; o.MaxOfflineQueue = 1 })
	mon, _ := conn(t, addr, packet.V5, "mon", true)
	mon.subscribe(1, sub("$SYS/broker/bytes/#", 0), sub("$SYS/broker/publish/messages/dropped", 0))
	in := waitSysAtLeast(t, mon, "$SYS/broker/bytes/received", 1)
	out := waitSysAtLeast(t, mon, "$SYS/broker/bytes/sent", 1)
	waitSys(t, mon, "$SYS/broker/publish/messages/dropped", "0")

	big := string(make([]byte, 10000))
	pub, _ := conn(t, addr, packet.V311, "pub", true)
	pub.publish("t/big", big, 1, false, 1)
	waitSysAtLeast(t, mon, "$SYS/broker/bytes/received", in+10000)
	s, _ := conn(t, addr, packet.V311, "big", true)
	s.subscribe(1, sub("t/big", 0))
	pub.publish("t/big", big, 0, false, 0)
	if m := s.expectPublish(); len(m.Payload) != 10000 {
		t.Fatalf("got %d bytes", len(m.Payload))
	}
	waitSysAtLeast(t, mon, "$SYS/broker/bytes/sent", out+10000)

	// An offline session that keeps one message: two of three are dropped.
	off, _ := conn(t, addr, packet.V311, "off", false)
	off.subscribe(1, sub("t/off", 1))
	off.disconnect()
	waitSys(t, mon, "$SYS/broker/publish/messages/dropped", "0")
	for i := range 3 {
		pub.publish("t/off", "m", 1, false, uint16(10+i))
	}
	waitSys(t, mon, "$SYS/broker/publish/messages/dropped", "2")
}

// TestStatsBytesExact checks the byte counters against the packets a
// client sent and received.
func TestStatsBytesExact(t *testing.T) {
	for _, noLoop := range []bool{false, true} {
		t.Run(fmt.Sprintf("NoEventLoop=%v", noLoop), func(t *testing.T) {
			srv, addr := brokertest.StartServer(t, func(o *broker.Options) { o.NoEventLoop = noLoop })
			statsBytesExact(t, srv, addr)
		})
	}
}

func statsBytesExact(t *testing.T, srv *broker.Server, addr string) {
	c := dial(t, addr, packet.V311)
	cp := &packet.Connect{ClientID: "bytes", CleanStart: true, KeepAlive: 60}
	c.connect(cp)
	sent := 4 // CONNACK
	received := encodedLen(t, cp)
	pubs := []*packet.Publish{
		{Topic: []byte("a/b"), Payload: []byte("hello"), QoS: 1, PacketID: 1},
		{Topic: []byte("a/c"), Payload: make([]byte, 300), QoS: 1, PacketID: 2},
	}
	for _, p := range pubs {
		c.send(p)
		c.expectAck(packet.PUBACK, p.PacketID)
		received += encodedLen(t, p)
		sent += 4 // PUBACK
	}
	c.send(&packet.Pingreq{})
	expect[*packet.Pingresp](c)
	received += 2
	sent += 2
	// The writer counts after its write returns, which may be after the
	// client read the bytes.
	deadline := time.Now().Add(5 * time.Second)
	for {
		st := srv.Stats()
		if st.BytesReceived == uint64(received) && st.BytesSent == uint64(sent) {
			break
		}
		if time.Now().After(deadline) || st.BytesReceived > uint64(received) || st.BytesSent > uint64(sent) {
			t.Fatalf("bytes received %d, sent %d; want %d and %d", st.BytesReceived, st.BytesSent, received, sent)
		}
		time.Sleep(time.Millisecond)
	}
}

func encodedLen(t *testing.T, p packet.Packet) int {
	t.Helper()
	b, err := p.AppendTo(nil, packet.V311)
	if err != nil {
		t.Fatal(err)
	}
	return len(b)
}
