package cli

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mqttx/mqttx/internal/cli/cmdutil"
	"github.com/mqttx/mqttx/internal/output"
)

// runEnv runs mqttx with args and the environment env.
func runEnv(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	streams, _, out, errOut := output.Test()
	f := cmdutil.New(streams)
	f.Getenv = func(k string) string { return env[k] }
	code = Run(context.Background(), args, f)
	return code, out.String(), errOut.String()
}

// complete returns the candidates `mqttx __complete args...` offers (descriptions cut
// off) and its directive line.
func complete(t *testing.T, env map[string]string, args ...string) (values []string, directive string) {
	t.Helper()
	code, out, errOut := runEnv(t, env, append([]string{"__complete"}, args...)...)
	if code != 0 {
		t.Fatalf("__complete %q: code %d, stderr %q", args, code, errOut)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	for _, l := range lines[:len(lines)-1] {
		v, _, _ := strings.Cut(l, "\t")
		values = append(values, v)
	}
	return values, lines[len(lines)-1]
}

func TestCompletionListedInHelp(t *testing.T) {
	code, out, _ := run(t, "--help")
	if code != 0 || !strings.Contains(out, "  completion  Print a shell completion script (bash, zsh, fish, powershell)") {
		t.Errorf("--help: code %d, does not list completion:\n%s", code, out)
	}
	code, out, _ = run(t, "completion", "--help")
	for _, want := range []string{"source <(mqttx completion bash)", "source <(mqttx completion zsh)", "~/.config/fish/completions/mqttx.fish", "Invoke-Expression"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("completion --help: code %d, lacks %q", code, want)
		}
	}
}

func TestCompletionBadShell(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"completion"}, "Error: missing shell: use mqttx completion bash, zsh, fish or powershell\n"},
		{[]string{"completion", "tcsh"}, `Error: unknown shell "tcsh": use bash, zsh, fish or powershell` + "\n"},
		{[]string{"completion", "bash", "extra"}, `Error: unexpected argument "extra"`},
	}
	for _, tt := range tests {
		code, out, errOut := run(t, tt.args...)
		if code != ExitUsage || out != "" || !strings.HasPrefix(errOut, tt.want) {
			t.Errorf("%q: code %d, stdout %q, stderr %q; want exit 2 and %q", tt.args, code, out, errOut, tt.want)
		}
	}
}

func TestCompletionFlagValues(t *testing.T) {
	const noFiles = ":4"
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"pub", "-V", ""}, []string{"5", "3.1.1", "3.1"}},
		{[]string{"sub", "--mqtt-version", "3"}, []string{"3.1.1", "3.1"}},
		{[]string{"conn", "-l", ""}, []string{"mqtt", "mqtts", "ws", "wss"}},
		{[]string{"sub", "--protocol", "w"}, []string{"ws", "wss"}},
		{[]string{"sub", "-o", ""}, []string{"text", "json", "raw"}},
		{[]string{"pub", "--output=j"}, []string{"json"}},
		{[]string{"pub", "-q", ""}, []string{"0", "1", "2"}},
		{[]string{"conn", "--color", ""}, []string{"auto", "always", "never"}},
		{[]string{"pub", "--pro"}, []string{"--profile", "--protocol"}},
		{[]string{"completion", ""}, []string{"bash", "fish", "powershell", "zsh"}},
		{[]string{"simulate", "--scenario", ""}, []string{"iem", "sensor", "smart_home", "tesla", "weather"}},
		{[]string{"simulate", "-s", "s"}, []string{"sensor", "smart_home"}},
	}
	for _, tt := range tests {
		got, directive := complete(t, nil, tt.args...)
		if !slices.Equal(got, tt.want) {
			t.Errorf("complete %q = %q, want %q", tt.args, got, tt.want)
		}
		if directive != noFiles {
			t.Errorf("complete %q: directive %s, want %s (no file names)", tt.args, directive, noFiles)
		}
	}
}

func TestCompletionProfileNames(t *testing.T) {
	dir := t.TempDir()
	config := filepath.Join(dir, "config.yaml")
	other := filepath.Join(dir, "other.yaml")
	write := func(path, data string) {
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(config, "default: local\nprofiles:\n  local: {host: 127.0.0.1}\n  prod: {host: broker.example.com}\n  prod-eu: {host: eu.example.com}\n")
	write(other, "profiles:\n  staging: {host: 10.0.0.1}\n")
	env := map[string]string{"MQTTX_CONFIG": config}

	tests := []struct {
		name string
		env  map[string]string
		args []string
		want []string
	}{
		{"all", env, []string{"pub", "--profile", ""}, []string{"local", "prod", "prod-eu"}},
		{"prefix", env, []string{"sub", "--profile", "pro"}, []string{"prod", "prod-eu"}},
		{"equals form", env, []string{"conn", "--profile=l"}, []string{"local"}},
		{"--config wins", env, []string{"pub", "--config", other, "--profile", ""}, []string{"staging"}},
		{"XDG_CONFIG_HOME", map[string]string{"XDG_CONFIG_HOME": t.TempDir()}, []string{"pub", "--profile", ""}, nil},
		{"broken config", map[string]string{"MQTTX_CONFIG": filepath.Join(dir, "broken.yaml")}, []string{"pub", "--profile", ""}, nil},
	}
	write(filepath.Join(dir, "broken.yaml"), "profiles: [\n")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, directive := complete(t, tt.env, tt.args...)
			if !slices.Equal(got, tt.want) || directive != ":4" {
				t.Errorf("complete %q = %q %s, want %q :4", tt.args, got, directive, tt.want)
			}
		})
	}

	// The default profile says so.
	_, out, _ := runEnv(t, env, "__complete", "pub", "--profile", "")
	if !strings.Contains(out, "local\tdefault profile\n") {
		t.Errorf("default profile not described:\n%s", out)
	}
}

// TestCompletionsFresh fails when completions/ differs from what `mqttx completion`
// prints now; `make completions` regenerates the files.
func TestCompletionsFresh(t *testing.T) {
	for _, sh := range shells {
		t.Run(sh.name, func(t *testing.T) {
			code, out, errOut := run(t, "completion", sh.name)
			if code != 0 || out == "" {
				t.Fatalf("completion %s: code %d, stderr %q", sh.name, code, errOut)
			}
			path := filepath.Join("..", "..", "completions", completionFile(sh.name))
			committed, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v: run make completions", err)
			}
			if string(committed) != out {
				t.Errorf("%s is stale: run make completions and commit the result", path)
			}
		})
	}
}

// completionFile is the name of shell's script in completions/, as the Makefile writes
// it.
func completionFile(shell string) string {
	switch shell {
	case "powershell":
		return "mqttx.ps1"
	default:
		return "mqttx." + shell
	}
}
