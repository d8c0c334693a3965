package serve_test

import (
	"bytes"
	"context"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mqttx/mqttx/internal/cli"
	"github.com/mqttx/mqttx/internal/cli/cmdutil"
	"github.com/mqttx/mqttx/internal/output"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// runCLI runs `mqttx args...` through the real root command and exit-code mapping.
func runCLI(ctx context.Context, args ...string) (code int, stdout, stderr *lockedBuffer) {
	ios, _, _, _ := output.Test()
	stdout, stderr = &lockedBuffer{}, &lockedBuffer{}
	ios.Out, ios.ErrOut = stdout, stderr
	return cli.Run(ctx, args, cmdutil.New(ios)), stdout, stderr
}

// TestExitCodes checks serve's exit codes through the root command: 0 after Ctrl-C
// (context cancelled), 2 for a usage error, 1 for a busy port.
func TestExitCodes(t *testing.T) {
	t.Run("ctrl-c exits 0", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := make(chan int, 1)
		ios, _, _, _ := output.Test()
		stderr := &lockedBuffer{}
		ios.ErrOut = stderr
		go func() {
			code := cli.Run(ctx, []string{"serve", "-p", "0", "--ws-port", "0"}, cmdutil.New(ios))
			done <- code
		}()
		re := regexp.MustCompile(`(?m)^Listening on (127\.0\.0\.1:\d+)$`)
		deadline := time.Now().Add(10 * time.Second)
		var addr string
		for addr == "" {
			if m := re.FindStringSubmatch(stderr.String()); m != nil {
				addr = m[1]
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no Listening line within 10s: %q", stderr.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatalf("dial the printed address %s: %v", addr, err)
		}
		c.Close()
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Fatalf("exit code %d after cancel, want 0; stderr:\n%s", code, stderr.String())
			}
		case <-time.After(15 * time.Second):
			t.Fatal("serve did not exit within 15s of cancel")
		}
		if !strings.Contains(stderr.String(), "(websocket /mqtt)\n") || !strings.HasSuffix(stderr.String(), "Stopped\n") {
			t.Errorf("stderr:\n%s", stderr.String())
		}
	})

	t.Run("usage error exits 2", func(t *testing.T) {
		code, _, stderr := runCLI(context.Background(), "serve", "--tls-port", "8883")
		if code != 2 || !strings.Contains(stderr.String(), "Error: --tls-port needs --cert and --key") {
			t.Fatalf("exit %d, stderr %q", code, stderr.String())
		}
	})

	t.Run("busy port exits 1", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		code, _, stderr := runCLI(context.Background(), "serve", "-p", port)
		want := "Error: listen on " + ln.Addr().String() + ": address already in use; use -p 0 for a free port or choose another -p\n"
		if code != 1 || stderr.String() != want {
			t.Fatalf("exit %d, stderr %q, want 1 and %q", code, stderr.String(), want)
		}
	})

	t.Run("bad certificate exits 1", func(t *testing.T) {
		code, _, stderr := runCLI(context.Background(), "serve", "-p", "0", "--tls-port", "0", "--cert", "/nonexistent/c.pem", "--key", "/nonexistent/k.pem")
		if code != 1 || !strings.Contains(stderr.String(), "certificate file /nonexistent/c.pem") {
			t.Fatalf("exit %d, stderr %q", code, stderr.String())
		}
	})
}
