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
	killAfter := 1000
	if testing.Short() {
		killAfter = 300
	}
	dir := t.TempDir()
	args := []string{"-p", "0", "--data-dir", dir, "--max-offline-messages", strconv.Itoa(total), "--sys-interval", "0"}
	srv := startChild(t, args...)

	subscribe := func(id, filter string) *wire {
		w, _ := dialWire(t, srv.addr, id, 3600)
		if err := w.send(&packet.Subscribe{PacketID: 1, Subscriptions: []packet.Subscription{{Filter: filter, QoS: 1}}}); err != nil {
			t.Fatal(err)
		}
		if p, err := w.read(5 * time.Second); err != nil || p.Type() != packet.SUBACK {
			t.Fatalf("SUBACK: %v %v", p, err)
		}
		return w
	}
	off := subscribe("offline", "load/off")
	off.send(&packet.Disconnect{})
	off.nc.Close()
	on := subscribe("online", "load/on")
	// topic: odd messages for the offline session, even ones for the
	// connected one.
	topic := func(i int) string {
		if i%2 == 1 {
			return "load/off"
		}
		return "load/on"
	}
	var before []int // what the connected subscriber got before the kill
	onDone := make(chan struct{})
	go func() {
		defer close(onDone)
		for {
			p, err := on.read(10 * time.Second)
			if err != nil {
				return // killed
			}
			m, ok := p.(*packet.Publish)
			if !ok {
				t.Errorf("connected subscriber got %+v", p)
				return
			}
			i, _ := strconv.Atoi(string(m.Payload))
			before = append(before, i)
			on.send(&packet.Ack{PacketType: packet.PUBACK, PacketID: m.PacketID})
		}
	}()

	pub, _ := dialWire(t, srv.addr, "pub", 0)
	var (
		mu    sync.Mutex
		acked = make(map[int]bool)
	)
	window := make(chan struct{}, 500) // below the broker's Receive Maximum
	killed := make(chan struct{})
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		for {
			p, err := pub.read(10 * time.Second)
			if err != nil {
				return // killed
			}
			a, ok := p.(*packet.Ack)
			if !ok || a.PacketType != packet.PUBACK || a.ReasonCode != 0 {
				t.Errorf("publisher got %+v", p)
				return
			}
			mu.Lock()
			acked[int(a.PacketID)] = true
			n := len(acked)
			mu.Unlock()
			<-window
			if n == killAfter {
				srv.cmd.Process.Signal(syscall.SIGKILL)
				close(killed)
			}
		}
	}()
	sent := 0
	for i := 1; i <= total; i++ {
		select {
		case window <- struct{}{}:
		case <-killed:
		case <-time.After(10 * time.Second):
			t.Fatal("no PUBACK for 10s")
		}
		select {
		case <-killed:
		default:
			if pub.send(&packet.Publish{Topic: []byte(topic(i)), Payload: []byte(strconv.Itoa(i)), QoS: 1, PacketID: uint16(i)}) == nil {
				sent++
				continue
			}
		}
		break
	}
	<-srv.done
	<-readerDone
	<-onDone
	mu.Lock()
	n := len(acked)
	mu.Unlock()
	if n < killAfter {
		t.Fatalf("only %d PUBACKs before the kill", n)
	}
	t.Logf("sent %d, acknowledged %d before SIGKILL; the connected subscriber had %d", sent, n, len(before))
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
		w, ack := dialWire(t, srv.addr, id, 3600)
		if !ack.SessionPresent {
			t.Fatalf("%s: session not present after kill -9 and restart", id)
		}
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
			i, _ := strconv.Atoi(string(m.Payload))
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
// The subscriber must get every message exactly once.
func TestKill9QoS2ExactlyOnce(t *testing.T) {
	const total = 1000
	killAfter := 500
	if testing.Short() {
		killAfter = 200
	}
	dir := t.TempDir()
	args := []string{"-p", "0", "--data-dir", dir, "--max-offline-messages", strconv.Itoa(total), "--sys-interval", "0"}
	srv := startChild(t, args...)

	sub, _ := dialWire(t, srv.addr, "sub2", 3600)
	if err := sub.send(&packet.Subscribe{PacketID: 1, Subscriptions: []packet.Subscription{{Filter: "q2", QoS: 2}}}); err != nil {
		t.Fatal(err)
	}
	if p, err := sub.read(5 * time.Second); err != nil || p.Type() != packet.SUBACK {
		t.Fatalf("SUBACK: %v %v", p, err)
	}
	sub.send(&packet.Disconnect{})
	sub.nc.Close()

	pub, _ := dialWire(t, srv.addr, "pub2", 3600)
	var (
		mu     sync.Mutex
		recd   = make(map[int]bool) // PUBREC received
		comped = make(map[int]bool) // PUBCOMP received
	)
	window := make(chan struct{}, 200)
	killed := make(chan struct{})
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		for {
			p, err := pub.read(10 * time.Second)
			if err != nil {
				return // killed
			}
			a, ok := p.(*packet.Ack)
			if !ok || a.ReasonCode != 0 {
				t.Errorf("publisher got %+v", p)
				return
			}
			id := int(a.PacketID)
			mu.Lock()
			switch a.PacketType {
			case packet.PUBREC:
				recd[id] = true
				pub.send(&packet.Ack{PacketType: packet.PUBREL, PacketID: a.PacketID})
			case packet.PUBCOMP:
				comped[id] = true
				<-window
			}
			n := len(recd)
			mu.Unlock()
			if a.PacketType == packet.PUBREC && n == killAfter {
				srv.cmd.Process.Signal(syscall.SIGKILL)
				close(killed)
			}
		}
	}()
	sent := 0
	for i := 1; i <= total; i++ {
		select {
		case window <- struct{}{}:
		case <-killed:
		case <-time.After(10 * time.Second):
			t.Fatal("no PUBCOMP for 10s")
		}
		select {
		case <-killed:
		default:
			if pub.send(&packet.Publish{Topic: []byte("q2"), Payload: []byte(strconv.Itoa(i)), QoS: 2, PacketID: uint16(i)}) == nil {
				sent++
				continue
			}
		}
		break
	}
	<-srv.done
	<-readerDone
	t.Logf("sent %d, PUBREC for %d, PUBCOMP for %d before SIGKILL", sent, len(recd), len(comped))

	srv = startChild(t, args...)
	pub, ack := dialWire(t, srv.addr, "pub2", 3600)
	if !ack.SessionPresent {
		t.Fatal("publisher session not present after kill -9 and restart")
	}
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
			pub.send(&packet.Publish{Topic: []byte("q2"), Payload: []byte(strconv.Itoa(i)), QoS: 2, PacketID: uint16(i), Dup: true})
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

	sub, ack = dialWire(t, srv.addr, "sub2", 3600)
	if !ack.SessionPresent {
		t.Fatal("subscriber session not present after kill -9 and restart")
	}
	got := make(map[int]int)
	for len(got) < sent {
		p, err := sub.read(10 * time.Second)
		if err != nil {
			t.Fatalf("subscriber: %d of %d messages: %v", len(got), sent, err)
		}
		switch p := p.(type) {
		case *packet.Publish:
			i, _ := strconv.Atoi(string(p.Payload))
			got[i]++
			if got[i] > 1 {
				t.Fatalf("message %d delivered twice at QoS 2", i)
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
