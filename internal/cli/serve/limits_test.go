package serve

import (
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/mqttx/mqttx/internal/mqttc"
)

// TestLimitsReachTheEngine checks that --max-keepalive and --max-packet-size are what
// the broker tells MQTT 5 clients in CONNACK and what it enforces.
func TestLimitsReachTheEngine(t *testing.T) {
	o := defaults()
	o.MaxKeepAlive = 20
	o.MaxPacketSize = 512
	s := startServe(t, o)
	host, port := hostPort(t, s.addrs["mqtt"])
	c, err := mqttc.New(mqttc.Options{Version: mqttc.V5, Host: host, Port: port, ClientID: "lim", CleanStart: true, KeepAlive: 60})
	if err != nil {
		t.Fatal(err)
	}
	ack, err := c.Connect(ctx5(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Disconnect(ctx5(t))
	if ack.Properties == nil || ack.Properties.ServerKeepAlive == nil || *ack.Properties.ServerKeepAlive != 20 {
		t.Errorf("CONNACK server keep alive %+v, want 20", ack.Properties)
	}
	if ack.Properties == nil || ack.Properties.MaximumPacketSize == nil || *ack.Properties.MaximumPacketSize != 512 {
		t.Errorf("CONNACK maximum packet size %+v, want 512", ack.Properties)
	}
}

// TestServeWebSocketOrigin checks --ws-origin end to end: browsers on other origins are
// refused with 403 unless listed.
func TestServeWebSocketOrigin(t *testing.T) {
	o := defaults()
	o.WSPort = 0
	o.WSOrigins = []string{"https://dashboard.example"}
	s := startServe(t, o)
	url := "ws://" + s.addrs["ws"] + "/mqtt"
	d := websocket.Dialer{Subprotocols: []string{"mqtt"}, HandshakeTimeout: 5 * time.Second}
	for origin, want := range map[string]int{
		"https://dashboard.example": http.StatusSwitchingProtocols,
		"https://evil.example":      http.StatusForbidden,
		"http://" + s.addrs["ws"]:   http.StatusSwitchingProtocols,
	} {
		c, resp, err := d.Dial(url, http.Header{"Origin": {origin}})
		if resp == nil {
			t.Fatalf("Origin %s: no response: %v", origin, err)
		}
		resp.Body.Close()
		if c != nil {
			c.Close()
		}
		if resp.StatusCode != want {
			t.Errorf("Origin %s: status %d, want %d", origin, resp.StatusCode, want)
		}
	}
}

// TestServeWebSocketHost checks --ws-host end to end: a Host header that is not the
// listener's address, localhost or a --ws-host is refused with 403, whatever the Origin.
func TestServeWebSocketHost(t *testing.T) {
	o := defaults()
	o.WSPort = 0
	o.WSHosts = []string{"broker.example"}
	s := startServe(t, o)
	url := "ws://" + s.addrs["ws"] + "/mqtt"
	d := websocket.Dialer{Subprotocols: []string{"mqtt"}, HandshakeTimeout: 5 * time.Second}
	for host, want := range map[string]int{
		"broker.example": http.StatusSwitchingProtocols,
		"localhost":      http.StatusSwitchingProtocols,
		s.addrs["ws"]:    http.StatusSwitchingProtocols,
		"evil.example":   http.StatusForbidden,
	} {
		c, resp, err := d.Dial(url, http.Header{"Host": {host}, "Origin": {"http://" + host}})
		if resp == nil {
			t.Fatalf("Host %s: no response: %v", host, err)
		}
		resp.Body.Close()
		if c != nil {
			c.Close()
		}
		if resp.StatusCode != want {
			t.Errorf("Host %s: status %d, want %d", host, resp.StatusCode, want)
		}
	}
}

// TestMaxPacketSizeZeroIsProtocolMaximum checks that --max-packet-size 0 lifts the
// limit: CONNACK then carries no Maximum Packet Size.
func TestMaxPacketSizeZeroIsProtocolMaximum(t *testing.T) {
	o := defaults()
	o.MaxPacketSize = 0
	s := startServe(t, o)
	host, port := hostPort(t, s.addrs["mqtt"])
	c, err := mqttc.New(mqttc.Options{Version: mqttc.V5, Host: host, Port: port, ClientID: "nolim", CleanStart: true, KeepAlive: 60})
	if err != nil {
		t.Fatal(err)
	}
	ack, err := c.Connect(ctx5(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Disconnect(ctx5(t))
	if ack.Properties != nil && ack.Properties.MaximumPacketSize != nil {
		t.Errorf("CONNACK maximum packet size %d, want none", *ack.Properties.MaximumPacketSize)
	}
}
