package mqttc

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/eclipse/paho.golang/packets"
	paholog "github.com/eclipse/paho.golang/paho/log"
)

// maxPingWait bounds the wait for a PINGRESP, so a broker that stopped answering is
// noticed within the keepalive plus this, and a QoS 1/2 publish waiting for its
// acknowledgement ends with an error instead of waiting on.
const maxPingWait = 10 * time.Second

// pinger is paho.golang's keepalive without its PINGREQ at connect time. paho's
// DefaultPinger sends one the moment CONNACK arrives; against mosquitto (Nagle on, no
// TCP_NODELAY) the PINGRESP then leaves just before the PUBACK/PUBCOMP of our first
// publish, which waits for our delayed ACK of the PINGRESP: the 40-50 ms MQTT 5 QoS 1/2
// stall. This pinger sends PINGREQ only after a keepalive interval without both sending
// and receiving (as paho does then), and gives up when the PINGRESP does not come within
// min(keepalive, maxPingWait).
type pinger struct {
	mu                 sync.Mutex
	lastSent, lastRecv time.Time
	lastPingResp       time.Time
}

func (p *pinger) Run(ctx context.Context, conn net.Conn, keepAlive uint16) error {
	if keepAlive == 0 {
		return nil
	}
	interval := time.Duration(keepAlive) * time.Second
	wait := min(interval, maxPingWait)
	now := time.Now()
	p.mu.Lock()
	if p.lastSent.IsZero() {
		p.lastSent = now
	}
	if p.lastRecv.IsZero() {
		p.lastRecv = now
	}
	p.mu.Unlock()
	timer := time.NewTimer(interval)
	defer timer.Stop()
	var pingSent time.Time
	errCh := make(chan error, 1)
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-errCh:
			return err
		case t := <-timer.C:
			p.mu.Lock()
			idleSince := p.lastSent
			if p.lastRecv.Before(idleSince) {
				idleSince = p.lastRecv
			}
			resp := p.lastPingResp
			p.mu.Unlock()
			if !pingSent.IsZero() {
				if resp.Before(pingSent) {
					return errors.New("no PINGRESP from the broker: it stopped answering")
				}
				pingSent = time.Time{}
			}
			if due := idleSince.Add(interval); t.Before(due) {
				timer.Reset(due.Sub(t))
				continue
			}
			pingSent = time.Now()
			go func() {
				if _, err := packets.NewControlPacket(packets.PINGREQ).WriteTo(conn); err != nil {
					errCh <- err
				}
			}()
			timer.Reset(wait)
		}
	}
}

func (p *pinger) PacketSent() {
	p.mu.Lock()
	p.lastSent = time.Now()
	p.mu.Unlock()
}

func (p *pinger) PacketReceived() {
	p.mu.Lock()
	p.lastRecv = time.Now()
	p.mu.Unlock()
}

func (p *pinger) PingResp() {
	p.mu.Lock()
	p.lastPingResp = time.Now()
	p.mu.Unlock()
}

func (p *pinger) SetDebug(paholog.Logger) {}
