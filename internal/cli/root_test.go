package cli

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/mqttx/mqttx/internal/cli/cmdutil"
	"github.com/mqttx/mqttx/internal/output"
)

func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	streams, _, out, errOut := output.Test()
	f := cmdutil.New(streams)
	f.Getenv = func(string) string { return "" }
	code = Run(context.Background(), args, f)
	return code, out.String(), errOut.String()
}

func TestRootHelpListsExitCodes(t *testing.T) {
	code, out, errOut := run(t, "--help")
	if code != 0 || errOut != "" {
		t.Fatalf("--help: code %d, stderr %q", code, errOut)
	}
	for _, want := range []string{"Exit codes:", "  2    usage error", "  3    refused by the broker", "  27   -W timeout", "  130  one-shot command interrupted", "conn", "pub", "sub"} {
		if !strings.Contains(out, want) {
			t.Errorf("--help lacks %q:\n%s", want, out)
		}
	}
}

func TestUsageErrorIsOneLinePlusHint(t *testing.T) {
	code, out, errOut := run(t, "pub", "-t", "a/+", "-m", "x")
	if code != ExitUsage {
		t.Errorf("code %d, want %d", code, ExitUsage)
	}
	if out != "" {
		t.Errorf("stdout %q, want nothing", out)
	}
	want := "Error: invalid --topic a/+: topic names cannot contain wildcards\nRun 'mqttx pub --help' for usage.\n"
	if errOut != want {
		t.Errorf("stderr:\n%s\nwant:\n%s", errOut, want)
	}
}

func TestHIsHost(t *testing.T) {
	// -h takes a value (the host); it is not help.
	code, _, errOut := run(t, "pub", "-h")
	if code != ExitUsage || !strings.Contains(errOut, "flag needs an argument: 'h' in -h") {
		t.Errorf("code %d, stderr %q", code, errOut)
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := run(t, "--version")
	if code != 0 || !strings.HasPrefix(out, "mqttx ") {
		t.Errorf("--version: code %d, stdout %q", code, out)
	}
}

func TestUnknownCommand(t *testing.T) {
	code, _, errOut := run(t, "frobnicate")
	if code != ExitUsage || !strings.Contains(errOut, `unknown command "frobnicate"`) {
		t.Errorf("code %d, stderr %q", code, errOut)
	}
}

func TestJSONErrorWithJSONOutput(t *testing.T) {
	// A usage error is text with the help hint whatever -o says, so scripts and people
	// see how to fix it.
	code, _, errOut := run(t, "pub", "-t", "", "-m", "x", "-o", "json")
	if code != ExitUsage || !strings.HasPrefix(errOut, "Error: invalid --topic") || !strings.Contains(errOut, "Run 'mqttx pub --help' for usage.") {
		t.Errorf("usage error: code %d, stderr %q", code, errOut)
	}
	// A runtime error with -o json is a JSON line.
	code, _, errOut = run(t, "pub", "-t", "t", "-f", filepath.Join(t.TempDir(), "missing"), "-o", "json")
	if code != ExitFailure || !strings.HasPrefix(errOut, `{"type":"error","error":"read --file`) {
		t.Errorf("runtime error: code %d, stderr %q", code, errOut)
	}
}

// TestSubcommandBuiltAloneHelpsAsInTree checks that a command line naming a subcommand,
// for which Run builds that subcommand alone, prints the same help as the whole tree
// does, for every subcommand and theirs.
func TestSubcommandBuiltAloneHelpsAsInTree(t *testing.T) {
	help := func(root *cobra.Command, path []string) string {
		streams, _, out, _ := output.Test()
		root.SetArgs(append(slices.Clone(path), "--help"))
		root.SetOut(streams.Out)
		root.SetErr(streams.ErrOut)
		if err := root.Execute(); err != nil {
			t.Fatalf("%v --help: %v", path, err)
		}
		return out.String()
	}
	streams, _, _, _ := output.Test()
	f := cmdutil.New(streams)
	full := NewRootCmd(f)
	n := 0
	for _, s := range subcommands {
		if subcommandNamed([]string{s.name, "-t", "x"}) != s.name {
			t.Errorf("subcommandNamed does not find %s", s.name)
		}
		alone := newRootCmd(f, s.name)
		if len(alone.Commands()) != 1 {
			t.Fatalf("%s built alone: %d subcommands", s.name, len(alone.Commands()))
		}
		walk(alone.Commands()[0], func(c *cobra.Command) {
			path := strings.Fields(strings.TrimPrefix(c.CommandPath(), "mqttx "))
			if got, want := help(newRootCmd(f, s.name), path), help(full, path); got != want {
				t.Errorf("mqttx %s --help built alone differs from the whole tree's:\n%s\nwant:\n%s", strings.Join(path, " "), got, want)
			}
			n++
		})
	}
	if n < len(subcommands) {
		t.Fatalf("compared %d commands", n)
	}
	if subcommandNamed([]string{"--version"}) != versionOnly || len(newRootCmd(f, versionOnly).Commands()) != 0 {
		t.Errorf("--version alone builds subcommands")
	}
	for _, args := range [][]string{nil, {"--help"}, {"--version", "--help"}, {"--version", "pub"}, {"help", "pub"}, {"__complete", "pub", "-V", ""}, {"completion", "bash"}, {"publish"}} {
		if got := subcommandNamed(args); got != "" {
			t.Errorf("subcommandNamed(%q) = %q, want the whole tree", args, got)
		}
	}
}
