package serve

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mqttx/mqttx/internal/broker"
	"github.com/mqttx/mqttx/internal/cli/cmdutil"
	"github.com/mqttx/mqttx/internal/mqttc"
	"github.com/mqttx/mqttx/internal/output"
)

// parse runs the serve command's flag handling on args and returns the options run
// would get, or the error.
func parse(t *testing.T, args ...string) (*options, error) {
	t.Helper()
	ios, _, _, _ := output.Test()
	var got *options
	cmd := NewCmd(cmdutil.New(ios), func(o *options) error { got = o; return nil })
	cmd.SetArgs(args)
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	cmd.SilenceErrors = true
	cmd.SilenceUsage = true
	cmd.Flags().Bool("help", false, "") // the root declares --help without -h
	err := cmd.Execute()
	return got, err
}

func TestFlags(t *testing.T) {
	o, err := parse(t)
	if err != nil {
		t.Fatal(err)
	}
	if o.Host != "127.0.0.1" || o.Port != 1883 || o.TLSPort != off || o.WSPort != off || o.WSSPort != off {
		t.Errorf("defaults: host %q port %d tls %d ws %d wss %d", o.Host, o.Port, o.TLSPort, o.WSPort, o.WSSPort)
	}
	if o.WSPath != "/mqtt" || o.MaxOffline != 1000 || o.MaxSessionExpiry != 86400 || o.Output.Format != "text" {
		t.Errorf("defaults: ws-path %q max-offline %d max-session-expiry %d output %q", o.WSPath, o.MaxOffline, o.MaxSessionExpiry, o.Output.Format)
	}
	if o.MaxPacketSize != 1<<20 || o.MaxTopicLevels != 128 || o.MaxTopicLength != 65535 || o.MaxSubs != 1000 ||
		o.MaxConnectBytes != 16<<20 || o.MaxQueueBytes != 16<<20 || o.MaxQueueMessages != 10000 || o.SlowClientGrace != 30*time.Second ||
		o.MaxOfflineAge != 5*time.Minute || o.ConnectTimeout != 10*time.Second {
		t.Errorf("default limits: %+v", *o)
	}
	o, err = parse(t, "--ws-port", "0", "--ws-host", "mqtt.example.com", "--max-topic-levels", "8", "--max-topic-length", "256",
		"--max-subscriptions", "5", "--max-connect-bytes", "4096", "--max-queue-bytes", "65536", "--max-queue-messages", "100",
		"--slow-client-grace", "2s", "--max-packet-size", "0", "--max-offline-age", "0", "--connect-timeout", "3s")
	if err != nil {
		t.Fatal(err)
	}
	if len(o.WSHosts) != 1 || o.MaxTopicLevels != 8 || o.MaxTopicLength != 256 || o.MaxSubs != 5 || o.MaxConnectBytes != 4096 ||
		o.MaxQueueBytes != 65536 || o.MaxQueueMessages != 100 || o.SlowClientGrace != 2*time.Second || o.MaxPacketSize != 0 ||
		o.MaxOfflineAge != 0 || o.ConnectTimeout != 3*time.Second {
		t.Errorf("parsed limits: %+v", *o)
	}

	o, err = parse(t, "-h", "0.0.0.0", "-p", "0", "--ws-port", "0", "--ws-path", "/ws", "--ws-origin", "https://a.example",
		"--ws-origin", "b.example:8080", "--max-keepalive", "60", "--max-session-expiry", "0", "--max-offline-messages", "5",
		"--max-packet-size", "1024", "--users", "u.yaml", "-v", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	if o.Host != "0.0.0.0" || o.Port != 0 || o.WSPort != 0 || o.WSPath != "/ws" || len(o.WSOrigins) != 2 ||
		o.MaxKeepAlive != 60 || o.MaxSessionExpiry != 0 || o.MaxOffline != 5 || o.MaxPacketSize != 1024 ||
		!o.Output.Verbose || o.Output.Format != "json" || o.TLSPort != off || o.UsersFile != "u.yaml" {
		t.Errorf("parsed %+v", *o)
	}
}

func TestFlagErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--tls-port", "8883"}, "--tls-port needs --cert and --key"},
		{[]string{"--wss-port", "0", "--cert", "c.pem"}, "--wss-port needs --cert and --key"},
		{[]string{"--cert", "c.pem", "--key", "k.pem"}, "need --tls-port or --wss-port"},
		{[]string{"-p", "70000"}, "invalid --port 70000"},
		{[]string{"--ws-port", "-3"}, "invalid --ws-port -3"},
		{[]string{"-p", "1883", "--ws-port", "1883"}, "invalid --ws-port 1883: already used by --port"},
		{[]string{"--ws-origin", "https://a.example"}, "--ws-origin needs --ws-port"},
		{[]string{"--ws-port", "0", "--ws-path", "mqtt"}, "invalid --ws-path \"mqtt\""},
		{[]string{"-o", "raw"}, "invalid --output raw"},
		{[]string{"-o", "yaml"}, "invalid --output yaml"},
		{[]string{"--max-offline-messages", "-1"}, "invalid --max-offline-messages -1"},
		{[]string{"-h", ""}, "invalid --host"},
		{[]string{"--max-topic-levels", "0"}, "invalid --max-topic-levels 0: must be 1 or more"},
		{[]string{"--max-topic-length", "70000"}, "invalid --max-topic-length 70000: must be 1 to 65535"},
		{[]string{"--max-subscriptions", "-1"}, "invalid --max-subscriptions -1"},
		{[]string{"--max-queue-bytes", "0"}, "invalid --max-queue-bytes 0"},
		{[]string{"--max-queue-messages", "0"}, "invalid --max-queue-messages 0"},
		{[]string{"--max-connect-bytes", "0"}, "invalid --max-connect-bytes 0"},
		{[]string{"--slow-client-grace", "0s"}, "invalid --slow-client-grace 0s"},
		{[]string{"--max-offline-age", "-1m"}, "invalid --max-offline-age -1m0s: must be 0 (no limit) or more"},
		{[]string{"--connect-timeout", "0s"}, "invalid --connect-timeout 0s: must be more than 0"},
		{[]string{"--ws-host", "a.example"}, "--ws-host needs --ws-port"},
		{[]string{"extra"}, "unexpected argument"},
		{[]string{"--allow-anonymous"}, "--allow-anonymous needs --users"},
		{[]string{"--sys-interval", "-1s"}, "invalid --sys-interval -1s"},
		{[]string{"--cert-cn-as-username"}, "--cert-cn-as-username needs --client-ca"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, err := parse(t, tt.args...)
			if err == nil {
				t.Fatal("no error")
			}
			var fe *cmdutil.FlagError
			if !errors.As(err, &fe) {
				t.Errorf("error %v is %T, want a *cmdutil.FlagError (exit 2)", err, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

// syncBuffer is a bytes.Buffer safe for the printer goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// server is one `serve` run in the background on free ports.
type server struct {
	addrs  map[string]string // kind (mqtt, mqtts, ws, wss) -> bound address
	out    *syncBuffer
	errOut *syncBuffer
	stop   func() error // cancels the context and returns run's error
}

// startServe runs serve with o's listeners on 127.0.0.1, port 0 where not set, and stops
// it when the test ends.
func startServe(t *testing.T, o *options) *server {
	t.Helper()
	ios, _, _, _ := output.Test()
	s := &server{addrs: map[string]string{}, out: &syncBuffer{}, errOut: &syncBuffer{}}
	ios.Out, ios.ErrOut = s.out, s.errOut
	o.IO = ios
	o.Now = time.Now
	if o.Host == "" {
		o.Host = "127.0.0.1"
	}
	if o.WSPath == "" {
		o.WSPath = "/mqtt"
	}
	if o.Output.Format == "" {
		o.Output.Format = "text"
	}
	var mu sync.Mutex
	ready := make(chan struct{})
	want := 1
	for _, p := range []int{o.TLSPort, o.WSPort, o.WSSPort} {
		if p != off {
			want++
		}
	}
	o.onListen = func(kind, addr string) {
		mu.Lock()
		defer mu.Unlock()
		s.addrs[kind] = addr
		if len(s.addrs) == want {
			close(ready)
		}
	}
	if err := o.validate(); err != nil {
		t.Fatalf("validate: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, o) }()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("serve ended before listening: %v", err)
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatal("serve did not listen within 10s")
	}
	var once sync.Once
	var runErr error
	s.stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-done:
			case <-time.After(15 * time.Second):
				runErr = errors.New("serve did not stop within 15s")
			}
		})
		return runErr
	}
	t.Cleanup(func() {
		if err := s.stop(); err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return s
}

func defaults() *options {
	return &options{Port: 0, TLSPort: off, WSPort: off, WSSPort: off, MaxOffline: 1000,
		MaxPacketSize: broker.DefaultMaxPacketSize, MaxTopicLevels: broker.DefaultMaxTopicLevels,
		MaxTopicLength: broker.DefaultMaxTopicLength, MaxSubs: broker.DefaultMaxSubscriptions,
		MaxConnectBytes: broker.DefaultMaxConnectBytes, MaxQueueBytes: broker.DefaultMaxOutboundBytes,
		MaxQueueMessages: broker.DefaultMaxOutboundQueue, SlowClientGrace: broker.DefaultSlowClientGrace,
		MaxOfflineAge: broker.DefaultMaxOfflineAge, ConnectTimeout: broker.DefaultConnectTimeout}
}

func hostPort(t *testing.T, addr string) (string, int) {
	t.Helper()
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	var port int
	for _, c := range p {
		port = port*10 + int(c-'0')
	}
	return h, port
}

// client connects an mqttc client to addr with scheme and returns it and its messages.
func client(t *testing.T, scheme, addr, id string, v mqttc.Version, mutate ...func(*mqttc.Options)) (mqttc.Client, <-chan mqttc.Message) {
	t.Helper()
	host, port := hostPort(t, addr)
	msgs := make(chan mqttc.Message, 100)
	o := mqttc.Options{
		Version: v, Scheme: scheme, Host: host, Port: port, ClientID: id, CleanStart: true, KeepAlive: 30,
		ConnectTimeout: 5 * time.Second,
		OnMessage: func(m mqttc.Message) bool {
			select {
			case msgs <- m:
			default:
			}
			return true
		},
	}
	for _, m := range mutate {
		m(&o)
	}
	c, err := mqttc.New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.Connect(ctx); err != nil {
		t.Fatalf("connect %s://%s as %s: %v", scheme, addr, id, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = c.Disconnect(ctx)
	})
	return c, msgs
}

func receive(t *testing.T, msgs <-chan mqttc.Message) mqttc.Message {
	t.Helper()
	select {
	case m := <-msgs:
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("no message within 5s")
		return mqttc.Message{}
	}
}

func ctx5(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestServeTCPAndWebSocket routes messages between MQTT 5 and 3.1.1 clients on TCP and
// WebSocket and checks the event lines printed with -v.
func TestServeTCPAndWebSocket(t *testing.T) {
	o := defaults()
	o.WSPort = 0
	o.Output.Verbose = true
	s := startServe(t, o)

	sub, msgs := client(t, "ws", s.addrs["ws"], "ws-sub", mqttc.V5)
	if _, err := sub.Subscribe(ctx5(t), []mqttc.Subscription{{Topic: "sensor/+/temperature", QoS: 1}}, mqttc.SubscribeOptions{}); err != nil {
		t.Fatal(err)
	}
	pub, _ := client(t, "mqtt", s.addrs["mqtt"], "tcp-pub", mqttc.V311)
	for _, p := range []string{`{"msg":"17.2"}`, `{"msg":"18.2"}`} {
		if err := pub.Publish(ctx5(t), mqttc.Message{Topic: "sensor/1/temperature", Payload: []byte(p), QoS: 1}); err != nil {
			t.Fatal(err)
		}
		if m := receive(t, msgs); string(m.Payload) != p || m.Topic != "sensor/1/temperature" {
			t.Fatalf("got %s %q, want %q", m.Topic, m.Payload, p)
		}
	}

	if err := s.stop(); err != nil {
		t.Fatalf("serve returned %v after cancel, want nil (exit 0)", err)
	}
	errOut := s.errOut.String()
	for _, w := range []string{
		"Listening on " + s.addrs["mqtt"] + "\n",
		"Listening on " + s.addrs["ws"] + " (websocket /mqtt)\n",
		"Shutting down...\n",
	} {
		if !strings.Contains(errOut, w) {
			t.Errorf("stderr lacks %q:\n%s", w, errOut)
		}
	}
	out := s.out.String()
	for _, w := range []string{
		"client connected id=ws-sub from 127.0.0.1:",
		" v5\n",
		"client subscribed id=ws-sub topic=sensor/+/temperature qos=1\n",
		"client connected id=tcp-pub from 127.0.0.1:",
		" v3.1.1\n",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("stdout lacks %q:\n%s", w, out)
		}
	}
}

func TestServeJSONEvents(t *testing.T) {
	o := defaults()
	o.Output.Verbose = true
	o.Output.Format = "json"
	s := startServe(t, o)
	c, _ := client(t, "mqtt", s.addrs["mqtt"], "j1", mqttc.V5)
	if _, err := c.Subscribe(ctx5(t), []mqttc.Subscription{{Topic: "a/#", QoS: 2}}, mqttc.SubscribeOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.Disconnect(ctx5(t)); err != nil {
		t.Fatal(err)
	}
	// Wait for the disconnect event before stopping, so it is not a shutdown event.
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(s.out.String(), `"type":"client_disconnected"`) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	out := s.out.String()
	for _, w := range []string{
		`{"type":"client_connected","time":"`,
		`"client_id":"j1","mqtt_version":"5","remote":"127.0.0.1:`,
		`{"type":"client_subscribed","time":"`,
		`"client_id":"j1","mqtt_version":"5","qos":2,"remote":"127.0.0.1:`,
		`"topic":"a/#"}`,
		`{"type":"client_disconnected"`,
	} {
		if !strings.Contains(out, w) {
			t.Errorf("stdout lacks %q:\n%s", w, out)
		}
	}
	if !strings.Contains(s.errOut.String(), `{"type":"listening","time":"`) || !strings.Contains(s.errOut.String(), `"protocol":"mqtt"`) {
		t.Errorf("stderr lacks the JSON listening event:\n%s", s.errOut.String())
	}
}

func TestServeQuietWithoutVerbose(t *testing.T) {
	s := startServe(t, defaults())
	client(t, "mqtt", s.addrs["mqtt"], "q1", mqttc.V5)
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	if out := s.out.String(); out != "" {
		t.Errorf("stdout without -v: %q, want nothing", out)
	}
}

func TestServePortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port := hostPort(t, ln.Addr().String())
	ios, _, _, _ := output.Test()
	o := defaults()
	o.IO, o.Now, o.Host, o.WSPath, o.Output.Format = ios, time.Now, "127.0.0.1", "/mqtt", "text"
	o.Port = port
	err = run(context.Background(), o)
	if err == nil {
		t.Fatal("run on a busy port succeeded")
	}
	msg := err.Error()
	for _, w := range []string{ln.Addr().String(), "already in use", "-p 0"} {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q lacks %q", msg, w)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("error spans lines: %q", msg)
	}

	// A busy secondary port closes the listeners already opened.
	o.Port = 0
	o.WSPort = port
	if err := run(context.Background(), o); err == nil || !strings.Contains(err.Error(), "--ws-port 0") {
		t.Fatalf("busy --ws-port: %v", err)
	}
}

// blockingWriter blocks every Write until released, like a paused pipe.
type blockingWriter struct{ release chan struct{} }

func (w blockingWriter) Write(p []byte) (int, error) {
	<-w.release
	return len(p), nil
}

func TestEventPumpNeverBlocks(t *testing.T) {
	ios, _, _, _ := output.Test()
	w := blockingWriter{release: make(chan struct{})}
	ios.Out = w
	p := output.NewPrinter(ios, output.FormatText, output.PrinterOptions{})
	e := newEventPump(p, false)
	n := eventQueueSize + 100
	done := make(chan struct{})
	go func() {
		for i := 0; i < n; i++ {
			e.push(broker.Event{Kind: broker.EventConnected, ClientID: "c"})
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("push blocked on a stalled printer")
	}
	// One event is in the printer's blocked Write, the queue is full, the rest dropped.
	if d := e.dropped.Load(); d < 99 || d > 100 {
		t.Errorf("dropped %d events, want 99 or 100", d)
	}
	// With the output still stuck, close gives up after its timeout instead of hanging.
	start := time.Now()
	if e.close(100 * time.Millisecond) {
		t.Error("close reported everything printed while the output was blocked")
	}
	if time.Since(start) > 5*time.Second {
		t.Error("close did not return on its timeout")
	}
	e.push(broker.Event{Kind: broker.EventConnected}) // after close: ignored, no panic
	close(w.release)
	select {
	case <-e.done:
	case <-time.After(10 * time.Second):
		t.Fatal("printer goroutine did not finish after the output was released")
	}
}

func TestEventText(t *testing.T) {
	tests := []struct {
		e    broker.Event
		want string
	}{
		{broker.Event{Kind: broker.EventConnected, ClientID: "s1", Remote: "127.0.0.1:5555", Version: 5}, "client connected id=s1 from 127.0.0.1:5555 v5"},
		{broker.Event{Kind: broker.EventConnected, ClientID: "old", Remote: "[::1]:1", Version: 3}, "client connected id=old from [::1]:1 v3.1"},
		{broker.Event{Kind: broker.EventSubscribed, ClientID: "s1", Remote: "x", Topic: "a/+", QoS: 1}, "client subscribed id=s1 topic=a/+ qos=1"},
		{broker.Event{Kind: broker.EventUnsubscribed, ClientID: "s1", Topic: "a/+"}, "client unsubscribed id=s1 topic=a/+"},
		{broker.Event{Kind: broker.EventDisconnected, ClientID: "s1", Remote: "127.0.0.1:1", Reason: "keep alive timeout"}, `client disconnected id=s1 from 127.0.0.1:1 reason="keep alive timeout"`},
		{broker.Event{Kind: broker.EventWill, ClientID: "dev", Topic: "dev/status", QoS: 1}, "will published id=dev topic=dev/status qos=1"},
		{broker.Event{Kind: broker.EventRefused, ClientID: "", Remote: "127.0.0.1:2", Version: 4, Reason: "bad"}, `client refused id="" from 127.0.0.1:2 v3.1.1 reason=bad`},
		{broker.Event{Kind: broker.EventConnected, ClientID: "a b\n", Version: 5}, `client connected id="a b\n" v5`},
	}
	for _, tt := range tests {
		got := formatEvent(tt.e, false)
		if got.Text != tt.want {
			t.Errorf("text %q, want %q", got.Text, tt.want)
		}
	}
}

func TestIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"127.0.0.1": true, "127.0.0.2": true, "::1": true, "localhost": true, "LOCALHOST": true,
		"0.0.0.0": false, "::": false, "192.0.2.1": false, "example.com": false,
	} {
		if got := isLoopback(host); got != want {
			t.Errorf("isLoopback(%q) = %v, want %v", host, got, want)
		}
	}
}

// TestAnonymousWarning uses an address of TEST-NET-1 (RFC 5737), which this machine does
// not have: the warning is printed before listening, and listening then fails, so the
// test never opens a port beyond loopback.
func TestAnonymousWarning(t *testing.T) {
	ios, _, _, errOut := output.Test()
	o := defaults()
	o.IO, o.Now, o.WSPath, o.Output.Format = ios, time.Now, "/mqtt", "text"
	o.Host = "192.0.2.1"
	err := run(context.Background(), o)
	if err == nil {
		t.Fatal("listening on 192.0.2.1 succeeded; this test needs an address the machine does not have")
	}
	if !strings.Contains(errOut.String(), "Warning: anyone who can reach 192.0.2.1 may connect without a password; use --users") {
		t.Errorf("no anonymous-access warning; stderr:\n%s", errOut.String())
	}
	if !strings.Contains(err.Error(), "listen on 192.0.2.1:0") {
		t.Errorf("error %q does not name the address", err)
	}

	// With users the warning goes, unless anonymous access stays allowed.
	file := filepath.Join(t.TempDir(), "passwd")
	if code, errOut := runCLIIn("", "serve", "passwd", "-c", "-b", file, "alice", "pw"); code != 0 {
		t.Fatal(errOut)
	}
	for _, anon := range []bool{false, true} {
		ios, _, _, errOut := output.Test()
		o := defaults()
		o.IO, o.Now, o.WSPath, o.Output.Format = ios, time.Now, "/mqtt", "text"
		o.Host, o.UsersFile, o.AllowAnonymous = "192.0.2.1", file, anon
		if err := run(context.Background(), o); err == nil {
			t.Fatal("listening on 192.0.2.1 succeeded")
		}
		if warned := strings.Contains(errOut.String(), "Warning: anyone"); warned != anon {
			t.Errorf("--users with --allow-anonymous=%v: warning %v; stderr:\n%s", anon, warned, errOut.String())
		}
	}

	// Loopback: no warning.
	s := startServe(t, defaults())
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(s.errOut.String(), "Warning") {
		t.Errorf("warning on loopback:\n%s", s.errOut.String())
	}
}

// TestShutdownDisconnectsClients stops serve as Ctrl-C and SIGTERM do (its context
// ends): an MQTT 5 client reads DISCONNECT 0x8B Server shutting down before its
// connection closes, an MQTT 3.1.1 client's connection is just closed.
func TestShutdownDisconnectsClients(t *testing.T) {
	s := startServe(t, defaults())
	lost := map[mqttc.Version]chan error{mqttc.V5: make(chan error, 1), mqttc.V311: make(chan error, 1)}
	for v, ch := range lost {
		client(t, "mqtt", s.addrs["mqtt"], fmt.Sprintf("down%d", v), v, func(o *mqttc.Options) {
			o.OnConnectionLost = func(err error) { ch <- err }
		})
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	for v, ch := range lost {
		var err error
		select {
		case err = <-ch:
		case <-time.After(5 * time.Second):
			t.Fatalf("v%d: connection not lost within 5s of shutdown", v)
		}
		var de *mqttc.DisconnectError
		isDisconnect := errors.As(err, &de)
		switch {
		case v == mqttc.V5 && (!isDisconnect || de.Code != 0x8B):
			t.Errorf("MQTT 5 client: %v, want DISCONNECT 0x8B", err)
		case v == mqttc.V311 && isDisconnect:
			t.Errorf("MQTT 3.1.1 client got a DISCONNECT: %v", err)
		}
	}
}
