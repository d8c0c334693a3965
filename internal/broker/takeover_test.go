package broker_test

import (
	"bufio"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/mqttx/mqttx/internal/packet"
)

// TestTakeoverHonoursAcksAlreadySent writes PUBACK (and, every other time,
// DISCONNECT) and reconnects with the same client id at once: the broker
// must handle the old connection's input before resuming the session on
// the new one, so the acknowledged message is not sent again [MQTT-4.4.0-1
// applies to unacknowledged messages only].
func TestTakeoverHonoursAcksAlreadySent(t *testing.T) {
	addr := start(t)
	for _, v := range []packet.Version{packet.V311, packet.V5} {
		t.Run(fmt.Sprint(v), func(t *testing.T) {
			id := fmt.Sprintf("takeover-%d", v)
			s, _ := conn(t, addr, v, id, false)
			s.subscribe(1, sub("take/over", 1))
			p, _ := conn(t, addr, packet.V311, fmt.Sprintf("takeover-pub-%d", v), true)
			for i := range 40 {
				p.publish("take/over", fmt.Sprint("msg-", i), 1, false, 1)
				m := s.expectPublish()
				if string(m.Payload) != fmt.Sprint("msg-", i) {
					t.Fatalf("round %d: got %q", i, m.Payload)
				}
				b, err := (&packet.Ack{PacketType: packet.PUBACK, PacketID: m.PacketID}).AppendTo(nil, v)
				if err != nil {
					t.Fatal(err)
				}
				if i%2 == 0 {
					b, _ = (&packet.Disconnect{}).AppendTo(b, v)
				}
				s.sendRaw(b) // one write: PUBACK (and DISCONNECT), then reconnect at once
				old := s
				s, _ = conn(t, addr, v, id, false)
				old.nc.Close()
				p.publish("take/over", fmt.Sprint("marker-", i), 1, false, 1)
				m = s.expectPublish()
				if string(m.Payload) != fmt.Sprint("marker-", i) {
					t.Fatalf("round %d: after reconnecting got %q (dup %v), want the next message: the PUBACK sent before reconnecting was lost", i, m.Payload, m.Dup)
				}
				s.send(&packet.Ack{PacketType: packet.PUBACK, PacketID: m.PacketID})
			}
		})
	}
}

// TestTakeoverLoopEveryConnectGetsConnack has four clients with one client
// id take the session from each other in a loop, as fast as they can: every CONNECT gets its CONNACK before the connection
// is closed for the next takeover [MQTT-3.2.0-1], however the connects of
// the two interleave.
func TestTakeoverLoopEveryConnectGetsConnack(t *testing.T) {
	addr := start(t)
	rounds := 400
	if testing.Short() {
		rounds = 100
	}
	for _, v := range []packet.Version{packet.V311, packet.V5} {
		t.Run(fmt.Sprint(v), func(t *testing.T) {
			id := fmt.Sprintf("loop-%d", v)
			const clients = 4
			errs := make(chan error, clients)
			for range clients {
				go func() {
					for i := 0; i < rounds; i++ {
						nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
						if err != nil {
							errs <- err
							return
						}
						b, _ := (&packet.Connect{ClientID: id, CleanStart: i%2 == 0, KeepAlive: 60}).AppendTo(nil, v)
						nc.SetDeadline(time.Now().Add(5 * time.Second))
						if _, err := nc.Write(b); err != nil {
							nc.Close()
							errs <- fmt.Errorf("connect %d: write: %v", i, err)
							return
						}
						br := bufio.NewReader(nc)
						p, _, err := packet.ReadPacket(br, v, 0, nil)
						if err != nil {
							nc.Close()
							errs <- fmt.Errorf("connect %d: no CONNACK: %v", i, err)
							return
						}
						if _, ok := p.(*packet.Connack); !ok {
							nc.Close()
							errs <- fmt.Errorf("connect %d: got %v before CONNACK", i, p.Type())
							return
						}
						nc.Close()
					}
					errs <- nil
				}()
			}
			for range clients {
				if err := <-errs; err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}
