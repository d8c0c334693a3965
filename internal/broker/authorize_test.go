package broker_test

import (
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/mqttx/mqttx/internal/broker"
	"github.com/mqttx/mqttx/internal/broker/auth"
	"github.com/mqttx/mqttx/internal/broker/brokertest"
	"github.com/mqttx/mqttx/internal/packet"
)

// startPolicy starts a broker with users (name -> password, $7$ hashes), an
// ACL (mosquitto acl_file text, "" for none) and anonymous access as given.
func startPolicy(t *testing.T, users map[string]string, acl string, anon bool) string {
	t.Helper()
	p := &auth.Policy{AllowAnonymous: anon}
	if len(users) > 0 {
		var b strings.Builder
		for u, pw := range users {
			h, err := auth.HashPassword([]byte(pw))
			if err != nil {
				t.Fatal(err)
			}
			b.WriteString(u + ":" + h + "\n")
		}
		u, err := auth.ParseUsers([]byte(b.String()))
		if err != nil {
			t.Fatal(err)
		}
		p.Users = u
	}
	if acl != "" {
		a, err := auth.ParseACL([]byte(acl))
		if err != nil {
			t.Fatal(err)
		}
		p.ACL = a
	}
	return brokertest.Start(t, func(o *broker.Options) { o.Authorizer = p })
}

// login connects as user (anonymous when user is "") and returns the CONNACK.
func login(t *testing.T, addr string, v packet.Version, id, user, pw string, clean bool) (*rawClient, *packet.Connack) {
	t.Helper()
	c := dial(t, addr, v)
	cp := &packet.Connect{ClientID: id, CleanStart: clean, KeepAlive: 60}
	if user != "" {
		cp.Username, cp.UsernameFlag = user, true
		cp.Password, cp.PasswordFlag = []byte(pw), true
	}
	if v == packet.V5 && !clean {
		cp.Properties.SetSessionExpiry(3600)
	}
	return c, c.connect(cp)
}

func mustLogin(t *testing.T, addr string, v packet.Version, id, user, pw string, clean bool) *rawClient {
	t.Helper()
	c, ack := login(t, addr, v, id, user, pw, clean)
	if ack.ReasonCode != 0 {
		t.Fatalf("CONNACK %v for %s as %q", ack.ReasonCode, id, user)
	}
	return c
}

func TestBadLoginRefused_MQTT_3_2_2_18(t *testing.T) {
	addr := startPolicy(t, map[string]string{"alice": "pw"}, "", false)
	for _, tt := range []struct {
		name     string
		v        packet.Version
		user, pw string
		want     packet.ReasonCode
	}{
		{"v5 wrong password", packet.V5, "alice", "nope", packet.BadUserNameOrPassword},
		{"v5 unknown user", packet.V5, "mallory", "pw", packet.BadUserNameOrPassword},
		{"v5 anonymous", packet.V5, "", "", packet.BadUserNameOrPassword},
		{"v3.1.1 wrong password", packet.V311, "alice", "nope", packet.V3RefusedBadUsernameOrPassword},
		{"v3.1.1 anonymous", packet.V311, "", "", packet.V3RefusedBadUsernameOrPassword},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, ack := login(t, addr, tt.v, "c", tt.user, tt.pw, true)
			if ack.ReasonCode != tt.want {
				t.Fatalf("CONNACK %#x, want %#x", byte(ack.ReasonCode), byte(tt.want))
			}
			c.expectClosed()
		})
	}
	mustLogin(t, addr, packet.V5, "c", "alice", "pw", true)
}

// TestSessionBelongsToItsUser checks that another user presenting a client id
// whose session exists is refused (0x85; 3.1.1: 0x02), whether the owner is
// online or offline with queued messages, and that the owner gets them.
func TestSessionBelongsToItsUser(t *testing.T) {
	addr := startPolicy(t, map[string]string{"alice": "a", "bob": "b"}, "", true)
	owner := mustLogin(t, addr, packet.V5, "dev1", "alice", "a", false)
	owner.subscribe(1, sub("inbox", 1))

	// Online: bob cannot take the connection over.
	c, ack := login(t, addr, packet.V5, "dev1", "bob", "b", false)
	if ack.ReasonCode != packet.ClientIdentifierNotValid {
		t.Fatalf("other user, owner online: CONNACK %v, want 0x85", ack.ReasonCode)
	}
	c.expectClosed()
	owner.send(&packet.Pingreq{})
	expect[*packet.Pingresp](owner) // still connected
	owner.disconnect()

	pub := mustLogin(t, addr, packet.V5, "p", "bob", "b", true)
	pub.publish("inbox", "for alice", 1, false, 1)

	for _, v := range []packet.Version{packet.V5, packet.V311} {
		c, ack := login(t, addr, v, "dev1", "bob", "b", false)
		want := packet.ClientIdentifierNotValid
		if v == packet.V311 {
			want = packet.V3RefusedIdentifierRejected
		}
		if ack.ReasonCode != want {
			t.Fatalf("other user v%d, owner offline: CONNACK %#x, want %#x", v, byte(ack.ReasonCode), byte(want))
		}
		c.expectClosed()
		// Clean start is refused too: it would end alice's session.
		c, ack = login(t, addr, v, "dev1", "", "", true)
		if ack.ReasonCode != want {
			t.Fatalf("anonymous v%d clean start: CONNACK %#x, want %#x", v, byte(ack.ReasonCode), byte(want))
		}
		c.expectClosed()
	}

	back, ack := login(t, addr, packet.V5, "dev1", "alice", "a", false)
	if ack.ReasonCode != 0 || !ack.SessionPresent {
		t.Fatalf("owner back: CONNACK %v session present %v", ack.ReasonCode, ack.SessionPresent)
	}
	if p := back.expectPublish(); string(p.Payload) != "for alice" {
		t.Fatalf("owner got %q", p.Payload)
	}
}

// TestPingDuringPasswordFlood checks that wrong passwords, each a slow bcrypt
// check, never hold up a connected client: its PINGREQ is answered while the
// flood is still going on.
func TestPingDuringPasswordFlood(t *testing.T) {
	h, err := bcrypt.GenerateFromPassword([]byte("right"), 10)
	if err != nil {
		t.Fatal(err)
	}
	users, err := auth.ParseUsers([]byte("alice:" + string(h) + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	addr := brokertest.Start(t, func(o *broker.Options) { o.Authorizer = &auth.Policy{Users: users} })
	idle := mustLogin(t, addr, packet.V311, "idle", "alice", "right", true)

	const attackers, attempts = 3, 4
	var flooding atomic.Bool
	flooding.Store(true)
	var started sync.WaitGroup
	started.Add(attackers)
	done := make(chan struct{})
	var wg sync.WaitGroup
	for i := range attackers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range attempts {
				c := dial(t, addr, packet.V311)
				c.send(&packet.Connect{ClientID: "x", CleanStart: true, Username: "alice", UsernameFlag: true, Password: []byte("wrong"), PasswordFlag: true})
				if j == 0 {
					started.Done()
				}
				if p, err := c.readErr(60 * time.Second); err != nil || p.(*packet.Connack).ReasonCode != packet.V3RefusedBadUsernameOrPassword {
					t.Errorf("attacker %d: %v %v", i, p, err)
				}
				c.nc.Close()
			}
		}()
	}
	go func() {
		wg.Wait()
		flooding.Store(false)
		close(done)
	}()
	started.Wait()
	for range 3 {
		idle.send(&packet.Pingreq{})
		if p, err := idle.readErr(30 * time.Second); err != nil || p.Type() != packet.PINGRESP {
			t.Fatalf("PINGREQ during the flood: %v %v", p, err)
		}
		if !flooding.Load() {
			t.Fatal("PINGRESP came only after the flood ended")
		}
	}
	<-done
}

// gatedAuth holds every login of user "attacker" until gate is closed,
// counting the checks running at once.
type gatedAuth struct {
	auth.Authorizer
	gate    chan struct{}
	entered chan struct{}
	running atomic.Int32
	most    atomic.Int32
}

func (g *gatedAuth) Authenticate(l *auth.Login) bool {
	if l.Username == "attacker" {
		n := g.running.Add(1)
		for m := g.most.Load(); n > m && !g.most.CompareAndSwap(m, n); m = g.most.Load() {
		}
		g.entered <- struct{}{}
		<-g.gate
		g.running.Add(-1)
	}
	return g.Authorizer.Authenticate(l)
}

// TestPasswordChecksOffTheLoop checks that password checks run off the
// connection loop and at most GOMAXPROCS at once: while every check slot is
// held by logins that have not finished, a connected client's PINGREQ is
// answered and a new client still gets its CONNACK refused or accepted once
// a slot frees.
func TestPasswordChecksOffTheLoop(t *testing.T) {
	h, err := auth.HashPassword([]byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	users, err := auth.ParseUsers([]byte("alice:" + h + "\nattacker:" + h + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	g := &gatedAuth{Authorizer: &auth.Policy{Users: users}, gate: make(chan struct{}), entered: make(chan struct{}, 64)}
	addr := brokertest.Start(t, func(o *broker.Options) { o.Authorizer = g })
	var once sync.Once
	open := func() { once.Do(func() { close(g.gate) }) }
	t.Cleanup(open) // before the broker's shutdown, which waits for the checks
	idle := mustLogin(t, addr, packet.V311, "idle", "alice", "pw", true)

	slots := runtime.GOMAXPROCS(0)
	attackers := slots + 3
	var cs []*rawClient
	for range attackers {
		c := dial(t, addr, packet.V311)
		c.send(&packet.Connect{ClientID: "", CleanStart: true, Username: "attacker", UsernameFlag: true, Password: []byte("no"), PasswordFlag: true})
		cs = append(cs, c)
	}
	for i := range slots {
		select {
		case <-g.entered:
		case <-time.After(10 * time.Second):
			t.Fatalf("%d of %d password checks started in 10s: they do not run in parallel", i, slots)
		}
	}
	// Every slot is taken and more logins wait: the loop still serves others.
	for range 3 {
		idle.send(&packet.Pingreq{})
		expect[*packet.Pingresp](idle)
	}
	if n := g.most.Load(); n != int32(slots) {
		t.Fatalf("%d password checks at once, want %d (GOMAXPROCS)", n, slots)
	}
	open()
	for _, c := range cs {
		if ack := expect[*packet.Connack](c); ack.ReasonCode != packet.V3RefusedBadUsernameOrPassword {
			t.Fatalf("attacker CONNACK %v", ack.ReasonCode)
		}
	}
	if n := g.most.Load(); n != int32(slots) {
		t.Fatalf("%d password checks at once, want at most %d (GOMAXPROCS)", n, slots)
	}
}

const testACL = `# anonymous clients
topic read public/#

user alice
topic readwrite alice/#
topic read shared/#
topic deny alice/secret
topic write cmd/+

user bob
topic readwrite #

pattern readwrite devices/%c/#
pattern read users/%u/inbox
`

// TestACLSubscribe checks SUBACK codes: 0x87 (3.1.1: 0x80) for a filter
// that can match no readable topic; granted for any overlap.
func TestACLSubscribe(t *testing.T) {
	addr := startPolicy(t, map[string]string{"alice": "a", "bob": "b"}, testACL, true)
	for _, v := range []packet.Version{packet.V5, packet.V311} {
		denied := packet.NotAuthorized
		if v == packet.V311 {
			denied = packet.V3SubackFailure
		}
		c := mustLogin(t, addr, v, "a1", "alice", "a", true)
		sa := c.subscribe(1, sub("alice/x", 1), sub("cmd/1", 0), sub("#", 1), sub("alice/secret", 0),
			sub("other/x", 0), sub("$share/g/shared/t", 1), sub("devices/a1/state", 0), sub("devices/b1/state", 0),
			sub("users/alice/inbox", 0), sub("$SYS/#", 0))
		want := []packet.ReasonCode{1, denied, 1, denied, denied, 1, 0, denied, 0, denied}
		for i, rc := range sa.ReasonCodes {
			if rc != want[i] {
				t.Errorf("v%d: SUBACK code %d = %#x, want %#x", v, i, byte(rc), byte(want[i]))
			}
		}
		c.disconnect()
		anon := mustLogin(t, addr, v, "anon", "", "", true)
		sa = anon.subscribe(1, sub("public/t", 0), sub("alice/x", 0), sub("users/+/inbox", 0))
		if sa.ReasonCodes[0] != 0 || sa.ReasonCodes[1] != denied || sa.ReasonCodes[2] != denied {
			t.Errorf("v%d anonymous: SUBACK %v", v, sa.ReasonCodes)
		}
		anon.disconnect()
	}
}

// TestACLReadCheckedOnDelivery checks that a # subscriber receives only the
// topics it may read, live and retained.
func TestACLReadCheckedOnDelivery(t *testing.T) {
	addr := startPolicy(t, map[string]string{"alice": "a", "bob": "b"}, testACL, true)
	bob := mustLogin(t, addr, packet.V5, "b1", "bob", "b", true)
	for _, topic := range []string{"alice/secret", "other/retained", "alice/retained"} {
		bob.publish(topic, "r "+topic, 1, true, 1)
	}
	alice := mustLogin(t, addr, packet.V311, "a1", "alice", "a", true)
	alice.subscribe(1, sub("#", 0))
	if p := alice.expectPublish(); string(p.Topic) != "alice/retained" {
		t.Fatalf("retained: got %s", p.Topic)
	}
	alice.expectNothing(100 * time.Millisecond)
	for _, topic := range []string{"other/x", "alice/secret", "cmd/1", "alice/x", "shared/y", "users/alice/inbox", "devices/a1/up"} {
		bob.publish(topic, topic, 0, false, 0)
	}
	var got []string
	for range 4 {
		got = append(got, string(alice.expectPublish().Topic))
	}
	if g := strings.Join(got, " "); g != "alice/x shared/y users/alice/inbox devices/a1/up" {
		t.Fatalf("alice received %s", g)
	}
	alice.expectNothing(100 * time.Millisecond)
}

// TestACLPublish checks that a denied PUBLISH is dropped: MQTT 5 QoS 1/2 get
// 0x87 in PUBACK/PUBREC, MQTT 3.1.1 an ordinary acknowledgement; and that a
// will on a topic the client may not write is never published.
func TestACLPublish(t *testing.T) {
	addr := startPolicy(t, map[string]string{"alice": "a", "bob": "b"}, testACL, true)
	bob := mustLogin(t, addr, packet.V5, "b1", "bob", "b", true)
	bob.subscribe(1, sub("#", 0))

	a5 := mustLogin(t, addr, packet.V5, "a5", "alice", "a", true)
	a5.send(&packet.Publish{Topic: []byte("other/x"), Payload: []byte("no"), QoS: 1, PacketID: 1})
	if a := a5.expectAck(packet.PUBACK, 1); a.ReasonCode != packet.NotAuthorized {
		t.Fatalf("v5 QoS 1 denied: PUBACK %v, want 0x87", a.ReasonCode)
	}
	a5.send(&packet.Publish{Topic: []byte("other/x"), Payload: []byte("no"), QoS: 2, PacketID: 2})
	if a := a5.expectAck(packet.PUBREC, 2); a.ReasonCode != packet.NotAuthorized {
		t.Fatalf("v5 QoS 2 denied: PUBREC %v, want 0x87", a.ReasonCode)
	}
	a5.publish("other/x", "no", 0, false, 0)
	a5.publish("cmd/1", "yes5", 1, false, 3)

	a3 := mustLogin(t, addr, packet.V311, "a3", "alice", "a", true)
	a3.publish("other/x", "no", 1, false, 1) // PUBACK, dropped
	a3.publish("other/x", "no", 2, false, 2) // PUBREC, PUBREL, PUBCOMP, dropped
	a3.publish("alice/secret", "no", 1, true, 3)
	a3.publish("alice/ok", "yes3", 2, false, 4)

	for _, want := range []string{"yes5", "yes3"} {
		if p := bob.expectPublish(); string(p.Payload) != want {
			t.Fatalf("bob got %s %q, want %q", p.Topic, p.Payload, want)
		}
	}
	bob.expectNothing(100 * time.Millisecond)

	// A will on a topic the client may not write: connected, never published.
	for i, v := range []packet.Version{packet.V5, packet.V311} {
		c := dial(t, addr, v)
		ack := c.connect(&packet.Connect{ClientID: "w" + strconv.Itoa(i), CleanStart: true, Username: "alice", UsernameFlag: true,
			Password: []byte("a"), PasswordFlag: true, WillFlag: true, WillTopic: "other/will", WillPayload: []byte("x")})
		if ack.ReasonCode != 0 {
			t.Fatalf("v%d will on a denied topic: CONNACK %#x, want 0 (as mosquitto)", v, byte(ack.ReasonCode))
		}
		c.nc.Close() // no DISCONNECT: the will would go now
	}
	// A will alice may write, to show that bob would see one.
	c := dial(t, addr, packet.V311)
	c.connect(&packet.Connect{ClientID: "w3", CleanStart: true, Username: "alice", UsernameFlag: true,
		Password: []byte("a"), PasswordFlag: true, WillFlag: true, WillTopic: "alice/will", WillPayload: []byte("w")})
	c.nc.Close()
	if p := bob.expectPublish(); string(p.Topic) != "alice/will" {
		t.Fatalf("bob got the will on %s, which alice may not write", p.Topic)
	}
}

// TestTakeoverKeepsTheUser checks, with an ACL and no users file (CONNECT
// handled on the event loop), that a client taking over its own online
// session keeps its username for the ACL, and that another user cannot.
func TestTakeoverKeepsTheUser(t *testing.T) {
	addr := startPolicy(t, nil, "user alice\ntopic readwrite alice/#\n", false)
	first := mustLogin(t, addr, packet.V311, "dev1", "alice", "", false)
	first.subscribe(1, sub("alice/x", 0))
	second := mustLogin(t, addr, packet.V311, "dev1", "alice", "", false) // takes the session over
	first.expectClosed()
	if sa := second.subscribe(2, sub("alice/y", 0)); sa.ReasonCodes[0] != 0 {
		t.Fatalf("alice after takeover: SUBACK %#x, want granted (the session lost its user)", byte(sa.ReasonCodes[0]))
	}
	c, ack := login(t, addr, packet.V311, "dev1", "bob", "", false)
	if ack.ReasonCode != packet.V3RefusedIdentifierRejected {
		t.Fatalf("bob: CONNACK %v, want 0x02", ack.ReasonCode)
	}
	c.expectClosed()
}
