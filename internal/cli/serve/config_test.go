package serve

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/mqttx/mqttx/internal/cli/cmdutil"
	"github.com/mqttx/mqttx/internal/output"
)

// printConfig runs serve args... --print-config and returns stdout.
func printConfig(t *testing.T, args ...string) string {
	t.Helper()
	ios, _, out, _ := output.Test()
	cmd := NewCmd(cmdutil.New(ios), func(*options) error { t.Fatal("--print-config ran the broker"); return nil })
	cmd.SetArgs(append(args, "--print-config"))
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	cmd.Flags().Bool("help", false, "")
	if err := cmd.Execute(); err != nil {
		t.Fatalf("serve %s --print-config: %v", strings.Join(args, " "), err)
	}
	return out.String()
}

func TestConfigFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "serve.yaml")
	os.WriteFile(file, []byte("host: 0.0.0.0\nport: 1884\nws_port: 8083\nusers: passwd\nallow_anonymous: true\nmax_offline_messages: 7\nmax_offline_age: 90s\nconnect_timeout: 3s\nverbose: true\n"), 0o600)

	o, err := parse(t, "--config", file)
	if err != nil {
		t.Fatal(err)
	}
	if o.Host != "0.0.0.0" || o.Port != 1884 || o.WSPort != 8083 || o.TLSPort != off || o.UsersFile != filepath.Join(dir, "passwd") ||
		!o.AllowAnonymous || o.MaxOffline != 7 || !o.Output.Verbose || o.MaxSessionExpiry != 86400 ||
		o.MaxOfflineAge != 90*time.Second || o.ConnectTimeout != 3*time.Second {
		t.Fatalf("from the file: %+v", *o)
	}

	// Flags given win, also when they set a value back to its default.
	o, err = parse(t, "--config", file, "-p", "1883", "--max-offline-messages", "1000", "--allow-anonymous=false")
	if err != nil {
		t.Fatal(err)
	}
	if o.Port != 1883 || o.MaxOffline != 1000 || o.AllowAnonymous || o.WSPort != 8083 {
		t.Fatalf("flags over the file: %+v", *o)
	}

	// --print-config prints what runs, as a file --config accepts.
	printed := printConfig(t, "--config", file, "-p", "1999")
	again := filepath.Join(t.TempDir(), "printed.yaml")
	os.WriteFile(again, []byte(printed), 0o600)
	if got := printConfig(t, "--config", again); got != printed {
		t.Fatalf("--print-config of the printed file differs:\n%s\nvs\n%s", got, printed)
	}
	for _, want := range []string{"port: 1999\n", "ws_port: 8083\n", "users: " + filepath.Join(dir, "passwd") + "\n", "max_offline_messages: 7\n", "max_offline_age: 1m30s\n", "connect_timeout: 3s\n"} {
		if !strings.Contains(printed, want) {
			t.Errorf("printed config lacks %q:\n%s", want, printed)
		}
	}
	if strings.Contains(printed, "tls_port") {
		t.Errorf("a listener that is off is printed:\n%s", printed)
	}

	// The file's values are validated like flags.
	os.WriteFile(file, []byte("tls_port: 8883\n"), 0o600)
	if _, err := parse(t, "--config", file); err == nil || !strings.Contains(err.Error(), "--tls-port needs --cert and --key") {
		t.Fatalf("invalid file: %v", err)
	}
	if _, err := parse(t, "--config", filepath.Join(dir, "nope.yaml")); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("missing file: %v", err)
	}
}

// TestEveryFlagInTheConfigFile checks that each serve flag has a key in the config file
// (and so in --print-config), but for those that only make sense on a command line.
func TestEveryFlagInTheConfigFile(t *testing.T) {
	commandLineOnly := map[string]bool{"config": true, "print-config": true, "help": true, "color": true}
	bound := map[string]bool{}
	for _, s := range settings {
		bound[s.flag] = true
	}
	ios, _, _, _ := output.Test()
	NewCmd(cmdutil.New(ios), nil).Flags().VisitAll(func(f *pflag.Flag) {
		if !bound[f.Name] && !commandLineOnly[f.Name] {
			t.Errorf("--%s has no key in serve's config file: add it to settings", f.Name)
		}
	})
}
