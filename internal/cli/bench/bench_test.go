package bench

import (
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/mqttx/mqttx/internal/cli/cmdutil"
	"github.com/mqttx/mqttx/internal/cli/cmdutil/cmdtest"
)

func parse(t *testing.T, which string, args ...string) (*options, error) {
	t.Helper()
	return cmdtest.Parse(t, func(f *cmdutil.Factory, runF func(*options) error) *cobra.Command {
		return newRunCmd(f, runF, which)
	}, args...)
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		which   string
		args    []string
		wantErr string
	}{
		{"conn", "conn", []string{"-c", "10", "-i", "5ms", "-d", "1m"}, ""},
		{"conn rate and ifaddr", "conn", []string{"-c", "10", "-R", "100", "--ifaddr", "127.0.0.1,127.0.0.2"}, ""},
		{"pub", "pub", []string{"-c", "10", "-t", "b/%i/%s/%rand_5", "-I", "10ms", "-L", "100", "-s", "64", "-q", "2", "-r", "-F", "5", "-n", "10", "--prefix", "p_", "--sub", "2"}, ""},
		{"pub url topic", "pub", []string{"--url", "mqtt://localhost/from/url"}, ""},
		{"pub message", "pub", []string{"-t", "a", "-m", "hi"}, ""},
		{"sub", "sub", []string{"-c", "3", "-t", "a/#", "-t", "b/%i", "-q", "1", "--share", "g"}, ""},
		{"client id long only", "conn", []string{"--client-id", "dev-%i"}, ""},
		{"count 0", "conn", []string{"-c", "0"}, "invalid --count 0"},
		{"negative start", "pub", []string{"-t", "a", "-n", "-1"}, "invalid --start -1"},
		{"two conn paces", "conn", []string{"-i", "1s", "-R", "3"}, "conflicting --interval and --connrate"},
		{"bad ifaddr", "conn", []string{"--ifaddr", "x"}, `invalid --ifaddr "x"`},
		{"prefix and client id", "conn", []string{"--prefix", "a", "--client-id", "b"}, "conflicting --client-id and --prefix"},
		{"no topic", "pub", nil, "missing --topic"},
		{"wildcard topic", "pub", []string{"-t", "a/#"}, "invalid --topic a/#"},
		{"bad rand", "pub", []string{"-t", "a/%rand_0"}, "%rand_N needs a number N of at least 1"},
		{"qos 3", "pub", []string{"-t", "a", "-q", "3"}, "invalid --qos 3"},
		{"two message paces", "pub", []string{"-t", "a", "-I", "1s", "--rate", "5"}, "conflicting --interval-msg and --rate"},
		{"message and file", "pub", []string{"-t", "a", "-m", "x", "-f", "y"}, "conflicting --message and --file"},
		{"message and size", "pub", []string{"-t", "a", "-m", "x", "-s", "5"}, "conflicting --size"},
		{"inflight 0", "pub", []string{"-t", "a", "-F", "0"}, "invalid --inflight 0"},
		{"bad duration", "pub", []string{"-t", "a", "-d", "soon"}, "not a duration"},
		{"sub no topic", "sub", nil, "missing --topic"},
		{"sub bad filter", "sub", []string{"-t", "a/#/b"}, "invalid --topic"},
		{"sub per-message placeholder", "sub", []string{"-t", "a/%s"}, "only work in published topics"},
		{"sub bad share", "sub", []string{"-t", "a", "--share", "g/h"}, "invalid --share"},
		{"bad output", "conn", []string{"-o", "yaml"}, "invalid --output yaml"},
		{"positional", "conn", []string{"extra"}, `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(t, tt.which, tt.args...)
			cmdtest.CheckUsageError(t, err, tt.wantErr)
		})
	}
}

func TestConfig(t *testing.T) {
	o, err := parse(t, "pub", "-h", "127.0.0.1", "-p", "1884", "-V", "3.1.1", "-u", "user", "-c", "4", "-n", "8",
		"-t", "b/%i", "--rate", "100", "-L", "50", "-q", "1", "-F", "7", "--sub", "1", "--client-id", "dev-%i", "-d", "2s", "-k", "0")
	if err != nil {
		t.Fatal(err)
	}
	c, err := o.config()
	if err != nil {
		t.Fatal(err)
	}
	p := c.Parameters
	if p.Broker != "127.0.0.1:1884" || p.Version != "3.1.1" || p.Count != 4 || p.StartIndex != 8 || p.Topic != "b/%i" ||
		p.Rate != 100 || p.Limit != 50 || p.QoS != 1 || p.Inflight != 7 || p.Subscribers != 1 || p.ClientID != "dev-%i" ||
		p.Duration != 2*time.Second || p.Size != 256 {
		t.Errorf("parameters %+v", p)
	}
	if c.Conn.Client.Username != "user" || c.Conn.Client.KeepAlive != 0 || !c.Conn.Client.CleanStart {
		t.Errorf("connection options %+v", c.Conn.Client)
	}
	// A payload too small for the stamp is sent unstamped rather than refused.
	o, _ = parse(t, "pub", "-t", "a", "-s", "10")
	if c, err = o.config(); err != nil || len(c.Payload) != 10 {
		t.Errorf("-s 10: payload %d bytes, %v", len(c.Payload), err)
	}
	// --ifaddr needs plain TCP.
	o, _ = parse(t, "conn", "-l", "ws", "--ifaddr", "127.0.0.1")
	if _, err := o.config(); err == nil {
		t.Error("--ifaddr with ws accepted")
	}
}
