package cli

import (
	"context"
	"net"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/mqttx/mqttx/internal/cli/cmdutil"
	"github.com/mqttx/mqttx/internal/mosquittotest"
	"github.com/mqttx/mqttx/internal/output"
)

// TestInProcessNoLeaks runs pub, sub and conn inside the test process against
// mosquitto, for every protocol version, and checks that each leaves no goroutine
// behind and that pub writes nothing to stdout in text mode.
func TestInProcessNoLeaks(t *testing.T) {
	host, port, err := net.SplitHostPort(mosquittotest.Start(t))
	if err != nil {
		t.Fatal(err)
	}
	ignore := goleak.IgnoreCurrent()
	exec := func(args ...string) (int, string, string) {
		streams, _, out, errOut := output.Test()
		f := cmdutil.New(streams)
		f.Getenv = func(string) string { return "" }
		args = append(args, "-h", host, "-p", port)
		return Run(context.Background(), args, f), out.String(), errOut.String()
	}
	for _, v := range []string{"5", "3.1.1", "3.1"} {
		t.Run(v, func(t *testing.T) {
			topic := "inprocess/" + v
			code, out, errOut := exec("pub", "-V", v, "-t", topic, "-m", "kept "+v, "-r", "-q", "1")
			if code != 0 || out != "" {
				t.Fatalf("pub: code %d, stdout %q (want none), stderr %q", code, out, errOut)
			}
			if !strings.Contains(errOut, "Published") {
				t.Errorf("pub stderr %q lacks Published", errOut)
			}
			code, out, errOut = exec("sub", "-V", v, "-t", topic, "-C", "1", "-W", "10", "-o", "raw")
			if code != 0 || out != "kept "+v+"\n" {
				t.Fatalf("sub: code %d, stdout %q, stderr %q", code, out, errOut)
			}
			code, out, errOut = exec("conn", "-V", v, "-W", "0.05", "-o", "json")
			if code != 0 || !strings.Contains(out, `"type":"connected"`) {
				t.Fatalf("conn: code %d, stdout %q, stderr %q", code, out, errOut)
			}
			code, _, _ = exec("sub", "-V", v, "-t", topic+"/none", "-W", "0.2")
			if code != ExitTimeout {
				t.Fatalf("sub -W with nothing: code %d, want %d", code, ExitTimeout)
			}
			goleak.VerifyNone(t, ignore)
		})
	}
}
