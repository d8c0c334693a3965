package simulate

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mqttx/mqttx/internal/cli/cmdutil"
	"github.com/mqttx/mqttx/internal/cli/cmdutil/cmdtest"
	"github.com/mqttx/mqttx/internal/output"
	"github.com/mqttx/mqttx/internal/profile"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var builtins = []string{"iem", "sensor", "smart_home", "tesla", "weather"}

// exec runs the simulate command in-process with a fixed clock and an empty
// environment whose config file lives in dir.
func exec(t *testing.T, dir string, args ...string) (string, string, error) {
	t.Helper()
	streams, _, out, errOut := output.Test()
	f := cmdutil.New(streams)
	f.Getenv = func(k string) string {
		if k == "MQTTX_CONFIG" {
			return filepath.Join(dir, "config.yaml")
		}
		return ""
	}
	f.Now = func() time.Time { return time.Date(2026, 6, 1, 13, 30, 0, 0, time.UTC) }
	cmd := NewCmd(f, nil)
	cmd.Flags().Bool("help", false, "")
	cmd.SetArgs(args)
	cmd.SetOut(out)
	cmd.SetErr(errOut)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	err := cmd.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

// TestDryRunGolden pins every built-in's output for a fixed seed and clock: 3 devices,
// 9 messages. Refresh with go test -update after a deliberate change.
func TestDryRunGolden(t *testing.T) {
	for _, name := range builtins {
		t.Run(name, func(t *testing.T) {
			out, errOut, err := exec(t, t.TempDir(), "-sc", name, "-c", "3", "-L", "9", "--seed", "42", "--dry-run")
			if err != nil {
				t.Fatalf("%v (stderr %q)", err, errOut)
			}
			golden := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if out != string(want) {
				t.Errorf("output differs from %s (go test -update refreshes it):\n%s", golden, out)
			}
			checkLines(t, out, 9)
		})
	}
}

// checkLines checks n JSON Lines messages, each payload itself JSON.
func checkLines(t *testing.T, out string, n int) {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	got := 0
	for sc.Scan() {
		var raw map[string]any
		if err := json.Unmarshal(sc.Bytes(), &raw); err != nil {
			t.Fatalf("line %d: %v", got+1, err)
		}
		if raw["type"] != "message" || raw["topic"] == "" {
			t.Fatalf("line %d: %s", got+1, sc.Bytes())
		}
		if !json.Valid([]byte(raw["payload"].(string))) {
			t.Fatalf("line %d payload is not JSON: %s", got+1, raw["payload"])
		}
		got++
	}
	if got != n {
		t.Fatalf("%d lines, want %d", got, n)
	}
}

func TestSensorShape(t *testing.T) {
	out, _, err := exec(t, t.TempDir(), "-sc", "sensor", "-c", "2", "-L", "2", "--seed", "1", "--dry-run", "--client-id", "dev")
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		n := []string{"1", "2"}[i]
		if m["topic"] != "sensor/"+n+"/temperature" || m["client_id"] != "dev_"+n {
			t.Errorf("message %d: %s", i, line)
		}
		var p map[string]string
		if err := json.Unmarshal([]byte(m["payload"].(string)), &p); err != nil || len(p) != 1 || p["msg"] == "" {
			t.Errorf("payload %v: want {\"msg\":\"17.2\"}", m["payload"])
		}
	}
}

func TestSameSeedSameOutput(t *testing.T) {
	args := []string{"-sc", "tesla", "-c", "2", "-L", "6", "--dry-run"}
	a, _, err := exec(t, t.TempDir(), append(args, "--seed", "5")...)
	if err != nil {
		t.Fatal(err)
	}
	b, _, _ := exec(t, t.TempDir(), append(args, "--seed", "5")...)
	c, _, _ := exec(t, t.TempDir(), append(args, "--seed", "6")...)
	if a != b {
		t.Error("--seed 5 twice gave different output")
	}
	if a == c {
		t.Error("--seed 5 and 6 gave the same output")
	}
}

func TestTopicOverrideAndDuration(t *testing.T) {
	out, _, err := exec(t, t.TempDir(), "-sc", "weather", "-c", "2", "-d", "25", "-I", "10s", "--seed", "3",
		"--dry-run", "--client-id", "ws", "-u", "bob", "-t", "%sc/%u/%i/%c")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	// 2 devices every 10s, offsets 0 and 5s: messages at 0, 5, 10, 15 and 20s.
	if len(lines) != 5 {
		t.Fatalf("%d messages in 25s, want 5:\n%s", len(lines), out)
	}
	if !strings.Contains(lines[1], `"topic":"weather/bob/2/ws_2"`) {
		t.Errorf("topic override: %s", lines[1])
	}
}

func TestCustomFileAndUserScenario(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "pump.yaml")
	src := "name: pump\ndescription: a pump\ntopic: pumps/{{.device}}\nvalues:\n  rpm: {walk: {min: 0, max: 3000, step: 50}, decimals: 0}\npayload: '{\"rpm\": {{.rpm}}}'\n"
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, err := exec(t, dir, "-f", file, "-c", "2", "--dry-run", "--seed", "1")
	if err != nil {
		t.Fatal(err)
	}
	checkLines(t, out, 2)

	// A scenarios folder beside the config file adds to the built-ins.
	if err := os.MkdirAll(filepath.Join(dir, "scenarios"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "scenarios", "pump.yaml"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, err = exec(t, dir, "ls")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "pump        user      a pump") || !strings.Contains(out, "tesla       built-in") {
		t.Errorf("ls:\n%s", out)
	}
	out, _, err = exec(t, dir, "show", "pump")
	if err != nil || out != src {
		t.Errorf("show pump: %v\n%s", err, out)
	}
	out, _, err = exec(t, dir, "-sc", "pump", "--dry-run", "--seed", "1")
	if err != nil || !strings.Contains(out, `"topic":"pumps/1"`) {
		t.Errorf("-sc pump: %v\n%s", err, out)
	}
	out, _, err = exec(t, dir, "ls", "-o", "json")
	if err != nil || strings.Count(out, `{"type":"scenario"`) != 6 {
		t.Errorf("ls -o json: %v\n%s", err, out)
	}
}

func TestShowBuiltin(t *testing.T) {
	out, _, err := exec(t, t.TempDir(), "show", "sensor")
	if err != nil || !strings.Contains(out, "name: sensor") {
		t.Fatalf("show sensor: %v\n%s", err, out)
	}
	_, _, err = exec(t, t.TempDir(), "show", "nope")
	cmdtest.CheckUsageError(t, err, `scenario not found: "nope"`)
}

func TestBadScenarioFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(file, []byte("name: bad\npayload: '{{ nmae }}'\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// No broker listens on port 1: the scenario must fail before any connection.
	_, _, err := exec(t, dir, "-f", file, "-p", "1")
	cmdtest.CheckUsageError(t, err, file+`:2: payload: unknown function "nmae" (did you mean "name"?)`)
	_, _, err = exec(t, dir, "-f", filepath.Join(dir, "missing.yaml"), "--dry-run")
	if err == nil || !strings.Contains(err.Error(), "read scenario:") {
		t.Errorf("missing file: %v", err)
	}
	var fe *cmdutil.FlagError
	if errors.As(err, &fe) {
		t.Errorf("a missing file is a runtime failure, not a usage error")
	}
}

func TestFlags(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		want  string // usage error, or "" for success
		check func(*testing.T, *options)
	}{
		{"-sc as in MQTTX", []string{"-sc", "tesla"}, "", func(t *testing.T, o *options) {
			if o.Scenario != "tesla" {
				t.Errorf("scenario %q", o.Scenario)
			}
		}},
		{"-sc=", []string{"-sc=tesla"}, "", func(t *testing.T, o *options) {
			if o.Scenario != "tesla" {
				t.Errorf("scenario %q", o.Scenario)
			}
		}},
		{"long", []string{"--scenario", "iem", "-c", "5", "-I", "250", "-L", "10", "-d", "1m", "-q", "1", "-r", "--seed", "9"}, "", func(t *testing.T, o *options) {
			if o.Scenario != "iem" || o.Count != 5 || o.Limit != 10 || time.Duration(o.Duration) != time.Minute || o.QoS != 1 || !o.Retain || o.Seed != 9 {
				t.Errorf("options %+v", o)
			}
			if d, _ := parseInterval(o.Interval); d != 250*time.Millisecond {
				t.Errorf("-I 250 = %v, want 250ms", d)
			}
		}},
		{"client id and url are long only", []string{"-sc", "sensor", "--client-id", "x", "--url", "mqtt://h:1"}, "", nil},
		{"missing scenario", nil, "missing scenario: give -sc NAME", nil},
		{"both", []string{"-sc", "tesla", "-f", "x.yaml"}, "conflicting --scenario and --file", nil},
		{"argument after -sc NAME", []string{"-sc", "tesla", "extra"}, `unexpected argument "extra": simulate takes flags only`, nil},
		{"stray argument", []string{"tesla"}, `unexpected argument "tesla": give the scenario as -sc tesla`, nil},
		{"count", []string{"-sc", "tesla", "-c", "0"}, "invalid --count 0", nil},
		{"interval", []string{"-sc", "tesla", "-I", "soon"}, `invalid --interval: "soon" is not a duration`, nil},
		{"interval zero", []string{"-sc", "tesla", "-I", "0"}, "invalid --interval 0: must be 1ms to a day", nil},
		{"qos", []string{"-sc", "tesla", "-q", "3"}, "invalid --qos 3", nil},
		{"limit", []string{"-sc", "tesla", "-L", "-1"}, "invalid --limit -1", nil},
		{"topic wildcard", []string{"-sc", "tesla", "-t", "a/+/%i"}, "cannot contain wildcards", nil},
		{"will and session", []string{"-sc", "tesla", "--will-topic", "fleet/gone", "--will-message", "bye", "--no-clean", "-x", "60"}, "", func(t *testing.T, o *options) {
			prof, err := profile.Resolve(o.flags, func(string) string { return "" }, "")
			if err != nil {
				t.Fatal(err)
			}
			co, err := prof.Options()
			if err != nil {
				t.Fatal(err)
			}
			if co.Will == nil || co.Will.Topic != "fleet/gone" || string(co.Will.Payload) != "bye" || co.CleanStart || co.SessionExpiry == nil || *co.SessionExpiry != 60 {
				t.Errorf("connection options %+v", co)
			}
		}},
		{"output", []string{"-sc", "tesla", "-o", "xml"}, "invalid --output xml", nil},
		{"start without dry run", []string{"-sc", "tesla", "--start", "2026-01-01T00:00:00Z"}, "--start needs --dry-run", nil},
		{"bad start", []string{"-sc", "tesla", "--dry-run", "--start", "noon"}, `invalid --start "noon"`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := cmdtest.Parse(t, NewCmd, tt.args...)
			cmdtest.CheckUsageError(t, err, tt.want)
			if tt.check != nil {
				tt.check(t, o)
			}
		})
	}
}
