package mqttc

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mqttx/mqttx/internal/mosquittotest"
)

func writeFile(name, content string) error { return os.WriteFile(name, []byte(content), 0o644) }

// closedPort returns a loopback port that nothing listens on.
func closedPort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return p
}

// silentListener accepts connections and never writes, holding them until the test ends.
func silentListener(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go func() { _, _ = io.Copy(io.Discard, c) }()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return l.Addr().String()
}

func TestDialIPv6Literal(t *testing.T) {
	l, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	accepted := make(chan struct{}, 2)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
			accepted <- struct{}{}
		}
	}()
	for _, host := range []string{"::1", "[::1]"} {
		o := &Options{Version: V5, Scheme: "mqtt", Host: host, Port: port}
		if err := o.Validate(); err != nil {
			t.Fatalf("Validate(%q): %v", host, err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		c, err := Dial(ctx, o)
		cancel()
		if err != nil {
			t.Fatalf("Dial %s: %v", host, err)
		}
		c.Close()
		<-accepted
	}
}

func TestTLSConfigFileErrors(t *testing.T) {
	pki := newPKI(t)
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.pem")
	if err := writeFile(garbage, "not a certificate\n"); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")
	tests := []struct {
		name string
		tls  TLSOptions
		want string
	}{
		{"missing CA", TLSOptions{CAFile: missing}, missing},
		{"garbage CA", TLSOptions{CAFile: garbage}, garbage + ": no PEM certificates"},
		{"missing cert", TLSOptions{CertFile: missing, KeyFile: pki.ClientKey}, missing},
		{"garbage cert", TLSOptions{CertFile: garbage, KeyFile: pki.ClientKey}, garbage},
		{"cert without key", TLSOptions{CertFile: pki.ClientCert}, "without a key"},
		{"key without cert", TLSOptions{KeyFile: pki.ClientKey}, "without a certificate"},
		{"mismatched pair", TLSOptions{CertFile: pki.ClientCert, KeyFile: pki.KeyFile}, pki.ClientCert},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := TLSConfig(&tt.tls, "localhost")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error spans lines: %q", err)
			}
			// The same error surfaces from Connect on both adapters, before any network use.
			for _, v := range []Version{V5, V311} {
				c, err := New(Options{Version: v, Scheme: "mqtts", Host: "127.0.0.1", Port: closedPort(t), TLS: tt.tls})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := c.Connect(ctxT(t)); err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("%s Connect err = %v, want %q", v, err, tt.want)
				}
			}
		})
	}
	cfg, err := TLSConfig(&TLSOptions{CAFile: pki.CAFile, CertFile: pki.ClientCert, KeyFile: pki.ClientKey, ALPN: []string{"mqtt"}, ServerName: "broker"}, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ServerName != "broker" || len(cfg.Certificates) != 1 || cfg.RootCAs == nil || cfg.NextProtos[0] != "mqtt" || cfg.InsecureSkipVerify {
		t.Fatalf("config = %+v", cfg)
	}
}

func TestValidate(t *testing.T) {
	u16 := func(v uint16) *uint16 { return &v }
	ok := Options{Version: V5, Host: "localhost"}
	tests := []struct {
		name string
		mod  func(o *Options)
		want string // "" means valid
	}{
		{"defaults", func(*Options) {}, ""},
		{"v311", func(o *Options) { o.Version = V311 }, ""},
		{"bad version", func(o *Options) { o.Version = 6 }, "invalid mqtt version 6"},
		{"bad scheme", func(o *Options) { o.Scheme = "http" }, `invalid protocol "http"`},
		{"no host", func(o *Options) { o.Host = "" }, "missing host"},
		{"host with scheme", func(o *Options) { o.Host = "mqtt://x" }, "invalid host"},
		{"bad port", func(o *Options) { o.Port = 70000 }, "invalid port 70000"},
		{"31 long id", func(o *Options) { o.Version = V31; o.ClientID = strings.Repeat("x", 24) }, "at most 23"},
		{"v3 password only", func(o *Options) { o.Version = V311; o.Password, o.HasPassword = "p", true }, "password without username"},
		{"v5 password only", func(o *Options) { o.Password, o.HasPassword = "p", true }, ""},
		{"will no topic", func(o *Options) { o.Will = &Will{} }, "missing will topic"},
		{"will wildcard", func(o *Options) { o.Will = &Will{Topic: "a/#"} }, "wildcards"},
		{"will qos", func(o *Options) { o.Will = &Will{Topic: "a", QoS: 3} }, "invalid will qos 3"},
		{"receive max 0", func(o *Options) { o.ReceiveMaximum = u16(0) }, "receive maximum 0"},
		{"v3 authentication", func(o *Options) { o.Version = V311; o.AuthenticationMethod = "SCRAM" }, "authentication needs MQTT 5"},
		{"auth data only", func(o *Options) { o.AuthenticationData = []byte{1} }, "without authentication method"},
		{"ws path", func(o *Options) { o.WSPath = "mqtt" }, "must start with /"},
		{"negative timeout", func(o *Options) { o.ConnectTimeout = -1 }, "connect timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := ok
			tt.mod(&o)
			_, err := New(o)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("err = %v, want valid", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestDefaultPort(t *testing.T) {
	for scheme, want := range map[string]int{"mqtt": 1883, "": 1883, "mqtts": 8883, "ws": 8083, "wss": 8084} {
		if got := DefaultPort(scheme); got != want {
			t.Errorf("DefaultPort(%q) = %d, want %d", scheme, got, want)
		}
	}
}

// TestNothingOnStdout runs publishes that are cancelled while waiting for the broker's
// receive quota (paho.golang prints from that path) and checks stdout stays empty.
func TestNothingOnStdout(t *testing.T) {
	addr := mosquittotest.Start(t, mosquittotest.WithConfig("max_inflight_messages 2"))
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stdout
	os.Stdout = w
	captured := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		captured <- string(b)
	}()
	func() {
		defer func() { os.Stdout = saved }()
		for _, v := range versions {
			o := baseOptions(t, addr, v)
			o.OnMessage = func(Message) bool { return true }
			c, _ := connect(t, o)
			if _, err := c.Subscribe(ctxT(t), []Subscription{{Topic: "quiet/#", QoS: 2}}, SubscribeOptions{}); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			for i := range 60 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					ctx, cancel := context.WithTimeout(context.Background(), time.Duration(i%7)*time.Millisecond)
					defer cancel()
					_ = c.Publish(ctx, Message{Topic: "quiet/" + strconv.Itoa(i), QoS: byte(1 + i%2), Payload: []byte("x")})
				}()
			}
			wg.Wait()
			_ = c.Kill()
		}
	}()
	w.Close()
	if out := <-captured; out != "" {
		t.Fatalf("library wrote to stdout: %q", out)
	}
}
