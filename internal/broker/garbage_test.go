package broker_test

import (
	"errors"
	"math/rand/v2"
	"net"
	"testing"
	"time"

	"github.com/mqttx/mqttx/internal/packet"
)

// TestGarbageAfterConnect sends random bytes after a valid CONNECT on many
// connections: the broker must answer or close each one within the
// deadline and keep serving other clients.
func TestGarbageAfterConnect(t *testing.T) {
	addr := start(t)
	rng := rand.New(rand.NewPCG(1, 2))
	watcher, _ := conn(t, addr, packet.V5, "watcher", true)
	for i := range 150 {
		v := []packet.Version{packet.V31, packet.V311, packet.V5}[i%3]
		c, _ := conn(t, addr, v, "g", true)
		junk := make([]byte, 1+rng.IntN(64))
		for j := range junk {
			junk[j] = byte(rng.UintN(256))
		}
		// A complete packet of random type, flags and body: the broker
		// must not wait for more. Every other one has flags 0 or 2.
		junk = append([]byte{byte(rng.UintN(256)), byte(len(junk))}, junk...)
		if i%2 == 0 {
			junk[0] &= 0xF2
		}
		// The broker may close on the junk before the ping: ignore write errors.
		c.nc.Write(append(junk, 0xC0, 0))
		// Either the garbage formed packets that were answered, or the
		// connection ends; it must not hang.
		c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 4096)
		for {
			_, err := c.nc.Read(buf)
			if err == nil {
				continue
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				// Still open: fine only if it still answers a ping.
				c.nc.SetReadDeadline(time.Now().Add(2 * time.Second))
				if _, werr := c.nc.Write([]byte{0xC0, 0}); werr != nil {
					break
				}
				if _, err := c.nc.Read(buf); err != nil && errors.As(err, &ne) && ne.Timeout() {
					t.Fatalf("junk %x: connection neither answers nor closes", junk)
				}
			}
			break
		}
		c.nc.Close()
	}
	watcher.send(&packet.Pingreq{})
	expect[*packet.Pingresp](watcher)
}
