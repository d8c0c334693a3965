package serve

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mqttx/mqttx/internal/packet"
)

// child is serve running in a process of its own.
type child struct {
	cmd  *exec.Cmd
	addr string
	done chan struct{}
}

var listeningRE = regexp.MustCompile(`^Listening on (\S+)$`)

// startChild runs the test binary as serve with args and waits for its
// listener.
func startChild(t *testing.T, args ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+strings.Join(args, "\n"))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, done: make(chan struct{})}
	addr := make(chan string, 1)
	var out strings.Builder
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			out.WriteString(sc.Text() + "\n")
			if m := listeningRE.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
		cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-c.done
	})
	select {
	case c.addr = <-addr:
	case <-c.done:
		t.Fatalf("serve %v ended before listening:\n%s", args, out.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("serve %v did not listen within 20s", args)
	}
	return c
}

// wire is a bare MQTT 5 connection.
type wire struct {
	t  *testing.T
	nc net.Conn
	br *bufio.Reader
	mu sync.Mutex
}

func dialWire(t *testing.T, addr, id string, expiry uint32) (*wire, *packet.Connack) {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	w := &wire{t: t, nc: nc, br: bufio.NewReader(nc)}
	cp := &packet.Connect{ClientID: id, KeepAlive: 60, CleanStart: expiry == 0}
	if expiry > 0 {
		cp.Properties.SetSessionExpiry(expiry)
	}
	if err := w.send(cp); err != nil {
		t.Fatal(err)
	}
	p, err := w.read(5 * time.Second)
	if err != nil {
		t.Fatalf("CONNACK: %v", err)
	}
	ack, ok := p.(*packet.Connack)
	if !ok || ack.ReasonCode != 0 {
		t.Fatalf("CONNACK: %+v", p)
	}
	return w, ack
}

func (w *wire) send(p packet.Packet) error {
	b, err := p.AppendTo(nil, packet.V5)
	if err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, err = w.nc.Write(b)
	return err
}

func (w *wire) read(d time.Duration) (packet.Packet, error) {
	w.nc.SetReadDeadline(time.Now().Add(d))
	p, _, err := packet.ReadPacket(w.br, packet.V5, 0, nil)
	return p, err
}

// killArgs is serve's command line for a kill -9 test: a data directory of
// the test's own and room for total offline messages.
func killArgs(t *testing.T, total int) []string {
	return []string{"-p", "0", "--data-dir", t.TempDir(), "--max-offline-messages", strconv.Itoa(total), "--sys-interval", "0"}
}

// killPoint is the number of acknowledgements after which serve is
// killed: full, or short under -short.
func killPoint(full, short int) int {
	if testing.Short() {
		return short
	}
	return full
}

// subscribeWire connects id with a persistent session and subscribes it
// to filter at qos.
func subscribeWire(t *testing.T, addr, id, filter string, qos byte) *wire {
	t.Helper()
	w, _ := dialWire(t, addr, id, 3600)
	if err := w.send(&packet.Subscribe{PacketID: 1, Subscriptions: []packet.Subscription{{Filter: filter, QoS: qos}}}); err != nil {
		t.Fatal(err)
	}
	if p, err := w.read(5 * time.Second); err != nil || p.Type() != packet.SUBACK {
		t.Fatalf("SUBACK: %v %v", p, err)
	}
	return w
}

// leave disconnects, leaving the session behind.
func (w *wire) leave() {
	w.send(&packet.Disconnect{})
	w.nc.Close()
}

// resumeWire connects id again after the restart and fails the test unless
// its session survived the kill.
func resumeWire(t *testing.T, addr, id string) *wire {
	t.Helper()
	w, ack := dialWire(t, addr, id, 3600)
	if !ack.SessionPresent {
		t.Fatalf("%s: session not present after kill -9 and restart", id)
	}
	return w
}

// numbered is message i of a kill -9 test: its payload is i, and so is
// its packet identifier.
func numbered(topic string, qos byte, i int) *packet.Publish {
	return &packet.Publish{Topic: []byte(topic), Payload: []byte(strconv.Itoa(i)), QoS: qos, PacketID: uint16(i)}
}

// payloadNumber is the i of a message made by numbered.
func payloadNumber(m *packet.Publish) int {
	i, _ := strconv.Atoi(string(m.Payload))
	return i
}

// readUntilKilled hands each packet read from w to take in a goroutine of
// its own, until the connection dies with serve (nothing for 10s counts as
// dead too) or take returns false. The channel it returns is closed when
// it stops.
func readUntilKilled(w *wire, take func(p packet.Packet) bool) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			p, err := w.read(10 * time.Second)
			if err != nil || !take(p) {
				return
			}
		}
	}()
	return done
}

// publishUntilKilled publishes publish(1) to publish(total) on pub with at
// most inflight flows open, while a reader takes the acknowledgements,
// until serve is killed with SIGKILL. The reader fails the test on an
// acknowledgement with a reason code other than 0, or one onAck does not
// take (ok false), and stops. Otherwise onAck says whether the
// acknowledgement finishes its flow (it is an ack of type finish; a place
// in the window frees) and whether serve is to be killed now; onAck runs
// in the reader alone, and what it records may be read once
// publishUntilKilled has returned: serve has ended and the reader stopped.
// It returns how many messages were written.
func publishUntilKilled(t *testing.T, srv *child, pub *wire, total, inflight int, finish packet.Type,
	publish func(i int) *packet.Publish, onAck func(a *packet.Ack) (ok, finished, kill bool)) (sent int) {
	t.Helper()
	window := make(chan struct{}, inflight)
	killed := make(chan struct{})
	readerDone := readUntilKilled(pub, func(p packet.Packet) bool {
		a, ok := p.(*packet.Ack)
		if !ok || a.ReasonCode != 0 {
			t.Errorf("publisher got %+v", p)
			return false
		}
		ok, finished, kill := onAck(a)
		if !ok {
			t.Errorf("publisher got %+v", p)
			return false
		}
		if finished {
			<-window
		}
		if kill {
			srv.cmd.Process.Signal(syscall.SIGKILL)
			close(killed)
		}
		return true
	})
	for i := 1; i <= total; i++ {
		select {
		case window <- struct{}{}:
		case <-killed:
		case <-time.After(10 * time.Second):
			t.Fatalf("no %v for 10s", finish)
		}
		select {
		case <-killed:
		default:
			if pub.send(publish(i)) == nil {
				sent++
				continue
			}
		}
		break
	}
	<-srv.done
	<-readerDone
	return sent
}

// TestKill9KeepsAcknowledged publishes QoS 1 messages for two persistent
// sessions, one offline and one connected and acknowledging (whose
// messages may be acknowledged to the publisher before they are
// committed, once the subscriber has them), kills serve with SIGKILL in
// the middle of the stream, starts it again on the same data directory,
// and checks that every message whose PUBACK reached the publisher reaches
// its subscriber: the offline one in order and once, the connected one
// before the kill or after the restart (a message it had not acknowledged
// yet may come twice, as QoS 1 allows).
func TestKill9KeepsAcknowledged(t *testing.T) {
	const total = 2000
	killAfter := killPoint(1000, 300)
	args := killArgs(t, total)
	srv := startChild(t, args...)

	subscribeWire(t, srv.addr, "offline", "load/off", 1).leave()
	on := subscribeWire(t, srv.addr, "online", "load/on", 1)
	// topic: odd messages for the offline session, even ones for the
	// connected one.
	topic := func(i int) string {
		if i%2 == 1 {
			return "load/off"
		}
		return "load/on"
	}
	var before []int // what the connected subscriber got before the kill
	onDone := readUntilKilled(on, func(p packet.Packet) bool {
		m, ok := p.(*packet.Publish)
		if !ok {
			t.Errorf("connected subscriber got %+v", p)
			return false
		}
		before = append(before, payloadNumber(m))
		on.send(&packet.Ack{PacketType: packet.PUBACK, PacketID: m.PacketID})
		return true
	})

	pub, _ := dialWire(t, srv.addr, "pub", 0)
	acked := make(map[int]bool)
	sent := publishUntilKilled(t, srv, pub, total, 500 /* below the broker's Receive Maximum */, packet.PUBACK,
		func(i int) *packet.Publish { return numbered(topic(i), 1, i) },
		func(a *packet.Ack) (ok, finished, kill bool) {
			if a.PacketType != packet.PUBACK {
				return false, false, false
			}
			acked[int(a.PacketID)] = true
			return true, true, len(acked) == killAfter
		})
	<-onDone
	if len(acked) < killAfter {
		t.Fatalf("only %d PUBACKs before the kill", len(acked))
	}
	t.Logf("sent %d, acknowledged %d before SIGKILL; the connected subscriber had %d", sent, len(acked), len(before))
	for k := 1; k < len(before); k++ {
		if before[k] <= before[k-1] {
			t.Fatalf("connected subscriber: %d after %d", before[k], before[k-1])
		}
	}

	srv = startChild(t, args...)
	// drain reads a resumed session's messages, acknowledging them, until
	// every acknowledged message of its parity is among them (or was in
	// had), then while more come within 300ms.
	drain := func(id string, parity int, had []int) (after []int) {
		w := resumeWire(t, srv.addr, id)
		got := make(map[int]bool)
		for _, i := range had {
			got[i] = true
		}
		missing := 0
		for i := range acked {
			if i%2 == parity && !got[i] {
				missing++
			}
		}
		for {
			d := 10 * time.Second
			if missing == 0 {
				d = 300 * time.Millisecond // then only unacknowledged ones may follow
			}
			p, err := w.read(d)
			if err != nil {
				if missing == 0 {
					return after
				}
				t.Fatalf("%s: after %d messages: %v; %d acknowledged ones missing", id, len(after), err, missing)
			}
			m, ok := p.(*packet.Publish)
			if !ok {
				t.Fatalf("%s got %+v", id, p)
			}
			i := payloadNumber(m)
			if i%2 != parity {
				t.Fatalf("%s got message %d of the other session", id, i)
			}
			if len(after) > 0 && i <= after[len(after)-1] {
				t.Fatalf("%s: message %d after %d: out of order or twice", id, i, after[len(after)-1])
			}
			after = append(after, i)
			if acked[i] && !got[i] {
				missing--
			}
			got[i] = true
			w.send(&packet.Ack{PacketType: packet.PUBACK, PacketID: m.PacketID})
		}
	}
	offAfter := drain("offline", 1, nil)
	onAfter := drain("online", 0, before)
	t.Logf("after the restart the offline subscriber got %d messages, the connected one %d more", len(offAfter), len(onAfter))
}

// TestKill9QoS2ExactlyOnce publishes QoS 2 messages for an offline
// persistent session, kills serve with SIGKILL in the middle of the
// stream and restarts it on the same data directory. The publisher, with
// a persistent session too, then finishes every flow as a client must:
// PUBREL for what got PUBREC, the PUBLISH again (DUP) for what did not.
// The subscriber must get every message exactly once, those the broker
// took before the kill in order.
func TestKill9QoS2ExactlyOnce(t *testing.T) {
	const total = 1000
	killAfter := killPoint(500, 200)
	args := killArgs(t, total)
	srv := startChild(t, args...)

	subscribeWire(t, srv.addr, "sub2", "q2", 2).leave()

	pub, _ := dialWire(t, srv.addr, "pub2", 3600)
	var (
		recd   = make(map[int]bool) // PUBREC received
		comped = make(map[int]bool) // PUBCOMP received
	)
	sent := publishUntilKilled(t, srv, pub, total, 200, packet.PUBCOMP,
		func(i int) *packet.Publish { return numbered("q2", 2, i) },
		func(a *packet.Ack) (ok, finished, kill bool) {
			switch a.PacketType {
			case packet.PUBREC:
				recd[int(a.PacketID)] = true
				pub.send(&packet.Ack{PacketType: packet.PUBREL, PacketID: a.PacketID})
				return true, false, len(recd) == killAfter
			case packet.PUBCOMP:
				comped[int(a.PacketID)] = true
				return true, true, false
			}
			return true, false, false
		})
	t.Logf("sent %d, PUBREC for %d, PUBCOMP for %d before SIGKILL", sent, len(recd), len(comped))

	srv = startChild(t, args...)
	pub = resumeWire(t, srv.addr, "pub2")
	// Finish every flow: PUBREL where PUBREC came, the PUBLISH again
	// where it did not.
	open := 0
	for i := 1; i <= sent; i++ {
		switch {
		case comped[i]:
			continue
		case recd[i]:
			pub.send(&packet.Ack{PacketType: packet.PUBREL, PacketID: uint16(i)})
		default:
			m := numbered("q2", 2, i)
			m.Dup = true
			pub.send(m)
		}
		open++
	}
	for open > 0 {
		p, err := pub.read(10 * time.Second)
		if err != nil {
			t.Fatalf("publisher after restart, %d flows open: %v", open, err)
		}
		a := p.(*packet.Ack)
		switch a.PacketType {
		case packet.PUBREC:
			pub.send(&packet.Ack{PacketType: packet.PUBREL, PacketID: a.PacketID})
		case packet.PUBCOMP:
			open--
		default:
			t.Fatalf("publisher got %+v", a)
		}
	}

	sub := resumeWire(t, srv.addr, "sub2")
	got := make(map[int]int)
	last := 0 // the last message received whose PUBREC reached the publisher before the kill
	for len(got) < sent {
		p, err := sub.read(10 * time.Second)
		if err != nil {
			t.Fatalf("subscriber: %d of %d messages: %v", len(got), sent, err)
		}
		switch p := p.(type) {
		case *packet.Publish:
			i := payloadNumber(p)
			got[i]++
			if got[i] > 1 {
				t.Fatalf("message %d delivered twice at QoS 2", i)
			}
			// The messages the broker took before the kill come in the order
			// they were published.
			if recd[i] {
				if i < last {
					t.Fatalf("message %d after %d: out of order", i, last)
				}
				last = i
			}
			sub.send(&packet.Ack{PacketType: packet.PUBREC, PacketID: p.PacketID})
		case *packet.Ack:
			sub.send(&packet.Ack{PacketType: packet.PUBCOMP, PacketID: p.PacketID})
		}
	}
	// Nothing more: no message comes twice.
	for {
		p, err := sub.read(300 * time.Millisecond)
		if err != nil {
			break
		}
		switch p := p.(type) {
		case *packet.Publish:
			t.Fatalf("message %s delivered again", p.Payload)
		case *packet.Ack:
			sub.send(&packet.Ack{PacketType: packet.PUBCOMP, PacketID: p.PacketID})
		}
	}
	t.Logf("subscriber got each of the %d messages once", len(got))
}
