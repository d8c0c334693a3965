package broker_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/mqttx/mqttx/internal/broker"
	"github.com/mqttx/mqttx/internal/broker/auth"
	"github.com/mqttx/mqttx/internal/broker/brokertest"
	"github.com/mqttx/mqttx/internal/broker/store"
	"github.com/mqttx/mqttx/internal/packet"
)

// persistent is a broker on a bbolt store in dir that a test can restart.
type persistent struct {
	t    *testing.T
	dir  string
	opts func(*broker.Options)
	srv  *broker.Server
	st   *store.Bolt
	addr string
}

func startPersistent(t *testing.T, opts func(*broker.Options)) *persistent {
	p := &persistent{t: t, dir: t.TempDir(), opts: opts}
	p.start()
	return p
}

func (p *persistent) start() {
	p.t.Helper()
	st, err := store.OpenBolt(p.dir, func(err error) { p.t.Errorf("store: %v", err) })
	if err != nil {
		p.t.Fatal(err)
	}
	p.st = st
	p.srv, p.addr = brokertest.StartServer(p.t, func(o *broker.Options) {
		o.Store = st
		if p.opts != nil {
			p.opts(o)
		}
	})
	p.t.Cleanup(func() { st.Close() })
}

// restart shuts the broker down, closes the store and starts both again.
func (p *persistent) restart() {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.srv.Shutdown(ctx); err != nil {
		p.t.Fatal(err)
	}
	if err := p.st.Close(); err != nil {
		p.t.Fatal(err)
	}
	p.start()
}

func TestPersistSessionsQueuesAndRetainedSurviveRestart(t *testing.T) {
	b := startPersistent(t, nil)
	subs := map[packet.Version]string{packet.V5: "s5", packet.V311: "s3"}
	for v, id := range subs {
		s, _ := conn(t, b.addr, v, id, false)
		s.subscribe(1, sub("q/#", 2), packet.Subscription{Filter: "q/1", QoS: 1})
		s.disconnect()
	}
	pub, _ := conn(t, b.addr, packet.V5, "pub", true)
	for i := range 5 {
		pub.publish(fmt.Sprintf("q/%d", i%2), fmt.Sprint(i), byte(1+i%2), false, uint16(i+1))
	}
	pub.publish("q/0", "dropped: QoS 0 is not queued", 0, false, 0)
	pub.publish("r/a", "kept", 1, true, 10)
	pub.publish("r/b", "cleared", 1, true, 11)
	pub.publish("r/b", "", 1, true, 12)
	pub.disconnect()

	b.restart()

	back := map[string]*rawClient{}
	for v, id := range subs {
		s, ack := conn(t, b.addr, v, id, false)
		if !ack.SessionPresent {
			t.Fatalf("%s: session not present after restart", id)
		}
		var rel []uint16
		for i := range 5 {
			p := s.expectPublish()
			if string(p.Payload) != fmt.Sprint(i) || p.QoS != byte(1+i%2) || string(p.Topic) != fmt.Sprintf("q/%d", i%2) {
				t.Fatalf("%s: message %d: %s %q QoS %d", id, i, p.Topic, p.Payload, p.QoS)
			}
			if s.receive(p) {
				rel = append(rel, p.PacketID)
			}
		}
		s.complete(rel...)
		s.expectNothing(100 * time.Millisecond)
		back[id] = s
	}
	// The subscriptions are back: a new message arrives.
	pub, _ = conn(t, b.addr, packet.V5, "pub", true)
	pub.publish("q/1", "live", 1, false, 1)
	pub.disconnect()
	for id, s := range back {
		p := s.expectPublish()
		if string(p.Payload) != "live" {
			t.Fatalf("%s: live message %q", id, p.Payload)
		}
		s.send(&packet.Ack{PacketType: packet.PUBACK, PacketID: p.PacketID})
		s.send(&packet.Pingreq{}) // once answered, the PUBACK was handled
		expect[*packet.Pingresp](s)
		s.disconnect()
	}

	// Nothing acknowledged comes back after another restart.
	b.restart()
	for _, id := range subs {
		s, ack := conn(t, b.addr, packet.V5, id, false)
		if !ack.SessionPresent {
			t.Fatalf("%s: session not present after second restart", id)
		}
		s.expectNothing(100 * time.Millisecond)
	}

	r, _ := conn(t, b.addr, packet.V5, "reader", true)
	r.subscribe(1, sub("r/#", 1))
	p := r.expectPublish()
	if string(p.Topic) != "r/a" || string(p.Payload) != "kept" || !p.Retain {
		t.Fatalf("retained after restart: %s %q retain %v", p.Topic, p.Payload, p.Retain)
	}
	r.expectNothing(100 * time.Millisecond)
}

// A session that ends is gone from the store; one with a clean start does
// not come back either.
func TestPersistEndedSessionsStayEnded(t *testing.T) {
	b := startPersistent(t, nil)
	s, _ := conn(t, b.addr, packet.V5, "s", false)
	s.subscribe(1, sub("t", 1))
	s.disconnect()
	c, _ := conn(t, b.addr, packet.V311, "s", true) // ends it
	c.disconnect()
	b.restart()
	pub, _ := conn(t, b.addr, packet.V5, "pub", true)
	pub.publish("t", "x", 1, false, 1)
	s, ack := conn(t, b.addr, packet.V5, "s", false)
	if ack.SessionPresent {
		t.Fatal("ended session present after restart")
	}
	s.expectNothing(100 * time.Millisecond)
}

// Outbound QoS 1/2 messages in flight are resent after a restart with
// their packet identifiers, a PUBRECed one as PUBREL; an inbound QoS 2
// message whose PUBREC was sent is not routed again when resent.
func TestPersistInflightBothDirections(t *testing.T) {
	b := startPersistent(t, nil)
	s, _ := conn(t, b.addr, packet.V5, "sub", false)
	s.subscribe(1, sub("t/#", 2))
	pub, _ := conn(t, b.addr, packet.V5, "pub", false)
	pub.publish("t/1", "one", 1, false, 1)
	pub.publish("t/2", "two", 2, false, 2)
	// The third is QoS 2 from the publisher's side: PUBREC, no PUBREL yet.
	pub.send(&packet.Publish{Topic: []byte("t/3"), Payload: []byte("three"), QoS: 2, PacketID: 3})
	pub.expectAck(packet.PUBREC, 3)

	p1, p2, p3 := s.expectPublish(), s.expectPublish(), s.expectPublish()
	if string(p1.Payload) != "one" || string(p2.Payload) != "two" || string(p3.Payload) != "three" {
		t.Fatalf("got %q %q %q", p1.Payload, p2.Payload, p3.Payload)
	}
	// p1 unacknowledged; p2 PUBRECed (so PUBREL comes); p3 unacknowledged.
	s.send(&packet.Ack{PacketType: packet.PUBREC, PacketID: p2.PacketID})
	s.expectAck(packet.PUBREL, p2.PacketID)
	s.nc.Close()
	pub.nc.Close()

	b.restart()

	s, ack := conn(t, b.addr, packet.V5, "sub", false)
	if !ack.SessionPresent {
		t.Fatal("subscriber session not present")
	}
	r1 := s.expectPublish()
	if string(r1.Payload) != "one" || !r1.Dup || r1.PacketID != p1.PacketID {
		t.Fatalf("resent %q dup %v id %d, want one dup id %d", r1.Payload, r1.Dup, r1.PacketID, p1.PacketID)
	}
	s.expectAck(packet.PUBREL, p2.PacketID)
	r3 := s.expectPublish()
	if string(r3.Payload) != "three" || !r3.Dup || r3.PacketID != p3.PacketID {
		t.Fatalf("resent %q dup %v id %d, want three dup id %d", r3.Payload, r3.Dup, r3.PacketID, p3.PacketID)
	}
	s.send(&packet.Ack{PacketType: packet.PUBACK, PacketID: r1.PacketID})
	s.send(&packet.Ack{PacketType: packet.PUBCOMP, PacketID: p2.PacketID})
	s.send(&packet.Ack{PacketType: packet.PUBREC, PacketID: r3.PacketID})
	s.expectAck(packet.PUBREL, r3.PacketID)
	s.send(&packet.Ack{PacketType: packet.PUBCOMP, PacketID: r3.PacketID})

	pub, ack = conn(t, b.addr, packet.V5, "pub", false)
	if !ack.SessionPresent {
		t.Fatal("publisher session not present")
	}
	// Exactly once: the resent PUBLISH is acknowledged, not routed again.
	pub.send(&packet.Publish{Topic: []byte("t/3"), Payload: []byte("three"), QoS: 2, PacketID: 3, Dup: true})
	pub.expectAck(packet.PUBREC, 3)
	pub.send(&packet.Ack{PacketType: packet.PUBREL, PacketID: 3})
	pub.expectAck(packet.PUBCOMP, 3)
	s.expectNothing(200 * time.Millisecond)

	// All done: nothing more after another restart.
	s.disconnect()
	pub.disconnect()
	b.restart()
	s, _ = conn(t, b.addr, packet.V5, "sub", false)
	s.expectNothing(100 * time.Millisecond)
	pub, _ = conn(t, b.addr, packet.V5, "pub", false)
	pub.send(&packet.Ack{PacketType: packet.PUBREL, PacketID: 3})
	if a := expect[*packet.Ack](pub); a.PacketType != packet.PUBCOMP || a.ReasonCode != packet.PacketIdentifierNotFound {
		t.Fatalf("PUBREL of a released id: %v %v", a.PacketType, a.ReasonCode)
	}
}

// The owner of a session and its expiry survive a restart; the expiry
// counts on from the disconnection.
func TestPersistOwnerAndExpiry(t *testing.T) {
	users := "alice:" + hash(t, "a") + "\nbob:" + hash(t, "b") + "\n"
	u, err := auth.ParseUsers([]byte(users))
	if err != nil {
		t.Fatal(err)
	}
	b := startPersistent(t, func(o *broker.Options) { o.Authorizer = &auth.Policy{Users: u} })
	owner := mustLogin(t, b.addr, packet.V5, "dev1", "alice", "a", false)
	owner.subscribe(1, sub("inbox", 1))
	owner.disconnect()
	short := dial(t, b.addr, packet.V5)
	cp := &packet.Connect{ClientID: "short", KeepAlive: 60, Username: "alice", UsernameFlag: true, Password: []byte("a"), PasswordFlag: true}
	cp.Properties.SetSessionExpiry(1)
	if ack := short.connect(cp); ack.ReasonCode != 0 {
		t.Fatalf("CONNACK %v", ack.ReasonCode)
	}
	short.disconnect()
	gone := time.Now().Add(time.Second)

	b.restart()

	c, ack := login(t, b.addr, packet.V5, "dev1", "bob", "b", false)
	if ack.ReasonCode != packet.ClientIdentifierNotValid {
		t.Fatalf("other user after restart: CONNACK %v, want 0x85", ack.ReasonCode)
	}
	c.expectClosed()
	c, ack = login(t, b.addr, packet.V5, "dev1", "alice", "a", false)
	if ack.ReasonCode != 0 || !ack.SessionPresent {
		t.Fatalf("owner after restart: CONNACK %v present %v", ack.ReasonCode, ack.SessionPresent)
	}
	c.disconnect()
	// The short session expires a second after its disconnection, before
	// the restart, not a second after the restart: wait for that moment
	// only.
	time.Sleep(time.Until(gone) + 200*time.Millisecond)
	c, ack = login(t, b.addr, packet.V5, "short", "alice", "a", false)
	if ack.SessionPresent {
		t.Fatal("session present after its expiry")
	}
	c.disconnect()
}

// waitOffline waits until srv has no client connected.
func waitOffline(t *testing.T, srv *broker.Server) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for srv.Stats().ClientsConnected > 0 {
		if time.Now().After(deadline) {
			t.Fatal("clients still connected after 5s")
		}
		time.Sleep(time.Millisecond)
	}
}

func hash(t *testing.T, pw string) string {
	h, err := auth.HashPassword([]byte(pw))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// A delayed will is kept across a restart and published when its delay
// ends.
func TestPersistDelayedWill(t *testing.T) {
	b := startPersistent(t, nil)
	w, _ := conn(t, b.addr, packet.V5, "watcher", false)
	w.subscribe(1, sub("will/#", 1))
	w.disconnect()
	c := dial(t, b.addr, packet.V5)
	cp := &packet.Connect{ClientID: "dying", KeepAlive: 60, WillFlag: true, WillTopic: "will/dying", WillPayload: []byte("bye"), WillQoS: 1}
	cp.Properties.SetSessionExpiry(3600)
	cp.WillProperties.WillDelay = 1
	cp.WillProperties.Set(packet.PropWillDelayInterval)
	if ack := c.connect(cp); ack.ReasonCode != 0 {
		t.Fatalf("CONNACK %v", ack.ReasonCode)
	}
	c.nc.Close() // no DISCONNECT: the will is due in a second
	// Wait until the broker has seen the connection end: a second client
	// with the id would take over a live one.
	waitOffline(t, b.srv)
	b.restart()
	w, _ = conn(t, b.addr, packet.V5, "watcher", false)
	p := w.expectPublish()
	if string(p.Topic) != "will/dying" || string(p.Payload) != "bye" {
		t.Fatalf("will after restart: %s %q", p.Topic, p.Payload)
	}
}

// A smaller offline queue bound after a restart holds for the messages
// kept: the newest beyond it are dropped, for good.
func TestPersistOfflineBoundHoldsOnRestore(t *testing.T) {
	limit := 0
	b := startPersistent(t, func(o *broker.Options) {
		if limit > 0 {
			o.MaxOfflineQueue = limit
		}
	})
	s, _ := conn(t, b.addr, packet.V5, "s", false)
	s.subscribe(1, sub("t", 1))
	s.disconnect()
	waitOffline(t, b.srv) // so the messages are queued, not sent
	pub, _ := conn(t, b.addr, packet.V5, "pub", true)
	for i := range 5 {
		pub.publish("t", fmt.Sprint(i), 1, false, uint16(i+1))
	}
	pub.disconnect()
	limit = 3
	b.restart()
	limit = 0
	b.restart() // the dropped ones are gone from the store too
	s, _ = conn(t, b.addr, packet.V5, "s", false)
	for i := range 3 {
		if p := s.expectPublish(); string(p.Payload) != fmt.Sprint(i) {
			t.Fatalf("message %d: %q", i, p.Payload)
		}
	}
	s.expectNothing(100 * time.Millisecond)
}

// Acknowledgements keep the order of the PUBLISH packets they answer, also
// when some messages need the commit (one queued for an offline session, a
// QoS 2 one) and others only a connected subscriber's PUBACK.
func TestPersistAcksInOrder(t *testing.T) {
	b := startPersistent(t, nil)
	off, _ := conn(t, b.addr, packet.V5, "off", false)
	off.subscribe(1, sub("off", 1))
	off.disconnect()
	on, _ := conn(t, b.addr, packet.V5, "on", false)
	on.subscribe(1, sub("on", 2))
	stop := make(chan struct{})
	go func() {
		// The connected subscriber acknowledges everything at once, until
		// the test closes its connection.
		defer close(stop)
		ack := func(t packet.Type, id uint16) {
			b, _ := (&packet.Ack{PacketType: t, PacketID: id}).AppendTo(nil, packet.V5)
			on.nc.Write(b)
		}
		for {
			p, err := on.readErr(2 * time.Second)
			if err != nil {
				return
			}
			switch p := p.(type) {
			case *packet.Publish:
				if p.QoS == 1 {
					ack(packet.PUBACK, p.PacketID)
				} else {
					ack(packet.PUBREC, p.PacketID)
				}
			case *packet.Ack:
				ack(packet.PUBCOMP, p.PacketID)
			}
		}
	}()
	pub, _ := conn(t, b.addr, packet.V5, "pub", true)
	const n = 300
	for i := 1; i <= n; i++ {
		topic, qos := "on", byte(1)
		switch i % 5 {
		case 1:
			topic = "off"
		case 2:
			qos = 2
		}
		pub.send(&packet.Publish{Topic: []byte(topic), Payload: []byte(fmt.Sprint(i)), QoS: qos, PacketID: uint16(i)})
	}
	for i := 1; i <= n; i++ {
		a := expect[*packet.Ack](pub)
		want := packet.PUBACK
		if i%5 == 2 {
			want = packet.PUBREC
		}
		if a.PacketID != uint16(i) || a.PacketType != want {
			t.Fatalf("answer %d: %v id %d, want %v id %d", i, a.PacketType, a.PacketID, want, i)
		}
	}
	on.nc.Close()
	<-stop
}

// The offline age of a queued message counts from when it was queued, also
// across a restart, and a message dropped for its age is gone from the
// store too.
func TestPersistOfflineAgeCountsAcrossRestart(t *testing.T) {
	const age = 300 * time.Millisecond
	var maxAge time.Duration
	b := startPersistent(t, func(o *broker.Options) { o.MaxOfflineAge = maxAge })
	s, _ := conn(t, b.addr, packet.V5, "s", false)
	s.subscribe(1, sub("t", 1))
	s.disconnect()
	waitOffline(t, b.srv)
	pub, _ := conn(t, b.addr, packet.V5, "pub", true)
	pub.publish("t", "old", 1, false, 1)
	queuedOld := time.Now()
	pub.disconnect()
	b.restart() // no age limit: kept
	for time.Since(queuedOld) <= age {
		time.Sleep(age - time.Since(queuedOld) + 10*time.Millisecond)
	}
	pub, _ = conn(t, b.addr, packet.V5, "pub", true)
	pub.publish("t", "young", 1, false, 1)
	pub.disconnect()
	maxAge = age
	b.restart()
	pub, _ = conn(t, b.addr, packet.V5, "pub", true)
	pub.publish("t", "new", 1, false, 1)
	pub.disconnect()
	s, _ = conn(t, b.addr, packet.V5, "s", false)
	for _, want := range []string{"young", "new"} {
		m := s.expectPublish()
		if string(m.Payload) != want {
			t.Fatalf("got %q, want %q: the offline age of a restored message counts from when it was queued", m.Payload, want)
		}
		s.send(&packet.Ack{PacketType: packet.PUBACK, PacketID: m.PacketID})
	}
	s.send(&packet.Pingreq{})
	expect[*packet.Pingresp](s)
	s.disconnect()
	waitOffline(t, b.srv)
	maxAge = 0
	b.restart()
	s, _ = conn(t, b.addr, packet.V5, "s", false)
	s.expectNothing(100 * time.Millisecond)
}
