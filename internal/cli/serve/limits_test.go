package serve

import (
	"errors"
	"net"
	"net/http"
	"os"
	"strings"
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

// TestOfflineAgeAndConnectTimeoutReachTheEngine checks --max-offline-age and
// --connect-timeout over real sockets: a message queued for an offline session longer
// than the age is not delivered when the client comes back, a younger one is; a
// connection that sends no CONNECT is closed after the timeout.
func TestOfflineAgeAndConnectTimeoutReachTheEngine(t *testing.T) {
	o := defaults()
	o.MaxOfflineAge = 300 * time.Millisecond
	o.ConnectTimeout = 200 * time.Millisecond
	o.Output.Verbose = true
	s := startServe(t, o)
	addr := s.addrs["mqtt"]

	expiry := uint32(3600)
	persistent := func(o *mqttc.Options) { o.CleanStart, o.SessionExpiry = false, &expiry }
	sub, _ := client(t, "mqtt", addr, "aged", mqttc.V5, persistent)
	if _, err := sub.Subscribe(ctx5(t), []mqttc.Subscription{{Topic: "aged/#", QoS: 1}}, mqttc.SubscribeOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := sub.Disconnect(ctx5(t)); err != nil {
		t.Fatal(err)
	}
	waitOut(t, s, "client disconnected id=aged ")
	pub, _ := client(t, "mqtt", addr, "pub", mqttc.V311)
	if err := pub.Publish(ctx5(t), mqttc.Message{Topic: "aged/old", Payload: []byte("old"), QoS: 1}); err != nil {
		t.Fatal(err)
	}
	queued := time.Now()
	for time.Since(queued) <= o.MaxOfflineAge {
		time.Sleep(o.MaxOfflineAge - time.Since(queued) + 10*time.Millisecond)
	}
	if err := pub.Publish(ctx5(t), mqttc.Message{Topic: "aged/new", Payload: []byte("new"), QoS: 1}); err != nil {
		t.Fatal(err)
	}
	_, msgs := client(t, "mqtt", addr, "aged", mqttc.V5, persistent)
	if m := receive(t, msgs); string(m.Payload) != "new" {
		t.Fatalf("after reconnecting got %s %q first, want aged/new: --max-offline-age not applied", m.Topic, m.Payload)
	}

	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetReadDeadline(time.Now().Add(5 * time.Second)) // the default timeout is 10s
	if n, err := nc.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("silent connection: read %d bytes, %v; want it closed after --connect-timeout", n, err)
	}
}

// waitOut waits until serve's stdout (events, with -v) contains want.
func waitOut(t *testing.T, s *server, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(s.out.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q within 10s; stdout:\n%s", want, s.out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
