package mqttc

import "sync"

// ackGate keeps DISCONNECT behind the acknowledgements of messages already handed to
// OnMessage. The libraries acknowledge a QoS 1/2 message after the handler returns, on
// their own goroutine, while Disconnect is called from the command's goroutine, often
// the moment the handler has queued the message (sub -C 1); without the gate DISCONNECT
// can be written first and the broker redelivers the message in the resumed session.
//
// The network goroutine calls enter before handing a message to OnMessage and leave once
// its acknowledgement is written (or queued behind nothing but the writer). Disconnect
// calls close and waits on the returned channel: from then on enter refuses messages,
// which stay unacknowledged so the broker delivers them again later.
type ackGate struct {
	mu     sync.Mutex
	closed bool
	n      int           // messages handed over and not yet acknowledged
	idle   chan struct{} // closed when n drops to 0 after close
}

// enter reports whether a message may be handed to OnMessage; if so, leave must follow.
func (g *ackGate) enter() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.n++
	return true
}

func (g *ackGate) leave() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n--
	if g.n == 0 && g.idle != nil {
		close(g.idle)
		g.idle = nil
	}
}

// stop refuses every later message, as close does, without waiting: the handler
// declined a message, and acknowledging anything received after it would break the
// order of acknowledgements MQTT requires [MQTT-4.6.0-2], [MQTT-4.6.0-3]. It is called
// on the network goroutine between enter and leave.
func (g *ackGate) stop() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
}

// close stops further deliveries and returns a channel closed once every message
// handed over has been acknowledged.
func (g *ackGate) close() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed = true
	if g.n == 0 {
		return closedChan
	}
	if g.idle == nil {
		g.idle = make(chan struct{})
	}
	return g.idle
}

var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()
