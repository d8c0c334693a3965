package serve

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mqttx/mqttx/internal/broker/listener/listenertest"
	"github.com/mqttx/mqttx/internal/mqttc"
)

// mosquittoClient returns the path of a mosquitto client binary. It skips the test when
// the binary is absent, unless CI is "true", where the peer must be there.
func mosquittoClient(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not found (CI=true): install mosquitto-clients", name)
		}
		t.Skipf("%s not found: install mosquitto-clients to run the interoperability tests", name)
	}
	return p
}

// startSub runs mosquitto_sub with args until it has received count messages (-C) or
// 10s passed (-W), and returns a function that waits for it and returns its stdout.
func startSub(t *testing.T, args ...string) func() string {
	t.Helper()
	bin := mosquittoClient(t, "mosquitto_sub")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	var out, errOut bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, append(args, "-W", "10")...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(cancel)
	return func() string {
		t.Helper()
		if err := cmd.Wait(); err != nil {
			t.Fatalf("mosquitto_sub %s: %v\nstderr: %s\nstdout: %s", strings.Join(args, " "), err, errOut.String(), out.String())
		}
		return out.String()
	}
}

func runPub(t *testing.T, args ...string) {
	t.Helper()
	bin := mosquittoClient(t, "mosquitto_pub")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("mosquitto_pub %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// waitSubscribed waits until serve reports that id subscribed (events need -v), so a
// publish that follows cannot overtake the subscription.
func waitSubscribed(t *testing.T, s *server, id string) {
	t.Helper()
	want := "client subscribed id=" + id + " "
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(s.out.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q event within 10s; stdout:\n%s", want, s.out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestInteropMosquittoClients drives serve with Debian's mosquitto_sub and mosquitto_pub
// over TCP and TLS (server-only and client-certificate), and with our client over
// WebSocket and secure WebSocket, crossing transports and protocol versions.
func TestInteropMosquittoClients(t *testing.T) {
	pki := listenertest.New(t)
	o := defaults()
	o.TLSPort, o.WSPort, o.WSSPort = 0, 0, 0
	o.Cert, o.Key = pki.ServerCert, pki.ServerKey
	o.Output.Verbose = true
	s := startServe(t, o)
	host, port := hostPort(t, s.addrs["mqtt"])
	_, tlsPort := hostPort(t, s.addrs["mqtts"])
	tcp := []string{"-h", host, "-p", strconv.Itoa(port)}
	tls := []string{"-h", "localhost", "-p", strconv.Itoa(tlsPort), "--cafile", pki.CAFile}

	t.Run("tcp v5 and v3.1.1 wildcard and retained", func(t *testing.T) {
		runPub(t, append(tcp, "-t", "interop/retained", "-m", "first", "-r", "-q", "1")...)
		runPub(t, append(tcp, "-t", "interop/retained", "-m", "last", "-r", "-q", "1", "-V", "311")...)
		wait := startSub(t, append(tcp, "-i", "ms-tcp", "-V", "5", "-t", "interop/+", "-q", "1", "-C", "3", "-v")...)
		waitSubscribed(t, s, "ms-tcp")
		runPub(t, append(tcp, "-t", "interop/a", "-m", `{"msg":"17.2"}`, "-q", "1", "-V", "311")...)
		runPub(t, append(tcp, "-t", "interop/b", "-m", `{"msg":"18.2"}`, "-q", "2", "-V", "5")...)
		got := wait()
		want := "interop/retained last\ninterop/a {\"msg\":\"17.2\"}\ninterop/b {\"msg\":\"18.2\"}\n"
		if got != want {
			t.Fatalf("mosquitto_sub printed %q, want %q", got, want)
		}
	})

	t.Run("tls with cafile", func(t *testing.T) {
		wait := startSub(t, append(tls, "-i", "ms-tls", "-t", "secure/t", "-C", "1")...)
		waitSubscribed(t, s, "ms-tls")
		runPub(t, append(tls, "-t", "secure/t", "-m", "over tls", "-q", "1")...)
		if got := wait(); got != "over tls\n" {
			t.Fatalf("got %q", got)
		}
	})

	t.Run("websocket to tcp", func(t *testing.T) {
		wait := startSub(t, append(tcp, "-i", "ms-ws", "-t", "ws/t", "-C", "1", "-V", "311")...)
		waitSubscribed(t, s, "ms-ws")
		c, _ := client(t, "ws", s.addrs["ws"], "go-ws", mqttc.V5)
		if err := c.Publish(ctx5(t), mqttc.Message{Topic: "ws/t", Payload: []byte("from ws"), QoS: 1}); err != nil {
			t.Fatal(err)
		}
		if got := wait(); got != "from ws\n" {
			t.Fatalf("got %q", got)
		}
	})

	t.Run("tcp to secure websocket", func(t *testing.T) {
		c, msgs := client(t, "wss", s.addrs["wss"], "go-wss", mqttc.V311, func(o *mqttc.Options) {
			o.Host = "localhost"
			o.TLS.CAFile = pki.CAFile
		})
		if _, err := c.Subscribe(ctx5(t), []mqttc.Subscription{{Topic: "wss/t", QoS: 1}}, mqttc.SubscribeOptions{}); err != nil {
			t.Fatal(err)
		}
		runPub(t, append(tcp, "-t", "wss/t", "-m", "to wss", "-q", "1")...)
		if m := receive(t, msgs); string(m.Payload) != "to wss" {
			t.Fatalf("got %q", m.Payload)
		}
	})
}

func TestInteropTLSClientCertificate(t *testing.T) {
	pki := listenertest.New(t)
	o := defaults()
	o.TLSPort = 0
	o.Cert, o.Key, o.ClientCA = pki.ServerCert, pki.ServerKey, pki.CAFile
	o.Output.Verbose = true
	s := startServe(t, o)
	_, tlsPort := hostPort(t, s.addrs["mqtts"])
	tls := []string{"-h", "localhost", "-p", strconv.Itoa(tlsPort), "--cafile", pki.CAFile}
	withCert := append(append([]string{}, tls...), "--cert", pki.ClientCert, "--key", pki.ClientKey)

	wait := startSub(t, append(withCert, "-i", "ms-cert", "-t", "cert/t", "-C", "1")...)
	waitSubscribed(t, s, "ms-cert")
	runPub(t, append(withCert, "-t", "cert/t", "-m", "signed")...)
	if got := wait(); got != "signed\n" {
		t.Fatalf("got %q", got)
	}

	bin := mosquittoClient(t, "mosquitto_pub")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, append(tls, "-t", "cert/t", "-m", "unsigned")...).CombinedOutput()
	if err == nil {
		t.Fatalf("mosquitto_pub without a client certificate succeeded: %s", out)
	}
}
