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
