package cli

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/mqttx/mqttx/internal/cli/cmdutil"
	"github.com/mqttx/mqttx/internal/output"
)

// TestAliasesTargetRealFlags checks that every alias names a flag its commands have, and
// that README.md documents every spelling.
func TestAliasesTargetRealFlags(t *testing.T) {
	streams, _, _, _ := output.Test()
	root := NewRootCmd(cmdutil.New(streams))
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range cmdutil.Aliases {
		if !strings.Contains(string(readme), "`"+a.Spelling+"`") {
			t.Errorf("README.md does not document %s", a.Spelling)
		}
		if a.Unsupported != "" {
			continue
		}
		cmds := a.Commands
		if cmds == nil {
			cmds = []string{"conn", "pub", "sub"}
		}
		for _, name := range cmds {
			c, _, err := root.Find(strings.Fields(name))
			if err != nil || c == root {
				t.Fatalf("no command %s", name)
			}
			if c.Flags().Lookup(a.Flag) == nil {
				t.Errorf("%s: %s stands for --%s, which mqttx %s does not have", a.Spelling, a.Spelling, a.Flag, name)
			}
		}
	}
}

func TestApplyAliases(t *testing.T) {
	streams, _, _, _ := output.Test()
	root := NewRootCmd(cmdutil.New(streams))
	tests := []struct {
		cmd     string
		in      string
		want    string
		wantErr string
	}{
		{"pub", "-t a -m -up", "-t a -m -up", ""}, // a value that looks like an alias stays a value
		{"pub", "-t a -up k: v -up x=y", "-t a --user-property=k=v --user-property=x=y", ""},
		{"pub", "-Wt w -Wm bye -Wq 1 -Wr -m x", "--will-topic=w --will-message=bye --will-qos=1 --will-retain -m x", ""},
		{"pub", "-se 60 -ct text/plain -rt r -cd c -pf -e 5", "--session-expiry=60 --content-type=text/plain --response-topic=r --correlation-data=c --payload-format-indicator --message-expiry-interval=5", ""},
		{"pub", "--user-properties=a: b --session-expiry-interval 9 --file-read f", "--user-property=a=b --session-expiry=9 --file=f", ""},
		{"pub", "-Cup app: x -Wup w: 1", "--conn-user-property=app=x --will-user-property=w=1", ""},
		{"conn", "-up app: x", "--conn-user-property=app=x", ""},
		{"sub", "-t a -nl -rap -rh 2 -si 3", "-t a --no-local --retain-as-published --retain-handling=2 --subscription-identifier=3", ""},
		{"sub", "-qr -t -se", "-qr -t -se", ""}, // -q takes "r"; -t takes "-se"
		{"sub", "-t a --output-mode clean", "-t a --output=json", ""},
		{"sub", "--output-mode=default -t a", "--output=text -t a", ""},
		{"sub", "--output-mode json", "", "invalid --output-mode json: must be clean or default"},
		{"pub", "--output-mode clean", "--output-mode clean", ""}, // sub's only
		{"sub", "-q 1 -t x -- -up", "-q 1 -t x -- -up", ""},
		{"pub", "--no-req-problem-info -c", "--request-problem-info=false --no-clean", ""},
		{"pub", "-t x -m y -Pp a.proto", "", "-Pp is an MQTTX CLI option mqttx does not have: protobuf payloads are not supported by mqttx"},
		{"sub", "--save", "", "mqttx profile save NAME"},
		{"pub", "-up", "", "flag needs an argument: -up"},
		{"pub", "-D publish content-type text/plain -D connect session-expiry-interval 60 -D will payload-format-indicator 1", "--content-type=text/plain --session-expiry=60 --will-payload-format-indicator=true", ""},
		{"pub", "-D publish user-property k v --property connect user-property a b", "--user-property=k=v --conn-user-property=a=b", ""},
		{"sub", "-D subscribe subscription-identifier 7", "--subscription-identifier=7", ""},
		{"sub", "-D publish content-type x", "", "-D publish properties do not apply to mqttx sub"},
		{"pub", "-D publish colour red", "", `invalid -D publish property "colour"`},
		{"pub", "-D publish", "", "-D needs a command and a property"},
		{"pub", "--cafile ca.pem --will-payload bye", "--ca=ca.pem --will-message=bye", ""},
		{"simulate", "-sc tesla -im 500 -c 3", "--scenario=tesla --interval=500 -c 3", ""},
		{"bench pub", "-c 10 -im 10 --message-interval=20", "-c 10 --interval-msg=10 --interval-msg=20", ""},
		{"bench pub", "-up k: v", "-up k: v", ""}, // pub's aliases are not bench pub's
	}
	for _, tt := range tests {
		t.Run(tt.cmd+" "+tt.in, func(t *testing.T) {
			c, _, _ := root.Find(strings.Fields(tt.cmd))
			got, err := cmdutil.ApplyAliases(tt.cmd, strings.Fields(tt.in), c.Flags())
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			want := strings.Fields(tt.want)
			if tt.in == "-t a -up k: v -up x=y" {
				// strings.Fields split "k: v"; rebuild the intended argv.
				got, err = cmdutil.ApplyAliases(tt.cmd, []string{"-t", "a", "-up", "k: v", "-up", "x=y"}, c.Flags())
			}
			if tt.in == "--user-properties=a: b --session-expiry-interval 9 --file-read f" {
				got, err = cmdutil.ApplyAliases(tt.cmd, []string{"--user-properties=a: b", "--session-expiry-interval", "9", "--file-read", "f"}, c.Flags())
			}
			if tt.in == "-Cup app: x -Wup w: 1" {
				got, err = cmdutil.ApplyAliases(tt.cmd, []string{"-Cup", "app: x", "-Wup", "w: 1"}, c.Flags())
			}
			if tt.in == "-up app: x" {
				got, err = cmdutil.ApplyAliases(tt.cmd, []string{"-up", "app: x"}, c.Flags())
			}
			if err != nil || !slices.Equal(got, want) {
				t.Fatalf("got %q, %v; want %q", got, err, want)
			}
		})
	}
}

// FuzzApplyAliases: rewriting is idempotent, never drops or invents a value, and leaves
// an argument list without alias spellings unchanged.
func FuzzApplyAliases(f *testing.F) {
	f.Add("pub", "-t\x00a\x00-up\x00k: v\x00-m\x00-Wt")
	f.Add("sub", "-qr\x00-t\x00-se\x00--\x00-up")
	f.Add("conn", "-up\x00a=b\x00-Wr\x00-k\x0010")
	streams, _, _, _ := output.Test()
	root := NewRootCmd(cmdutil.New(streams))
	f.Fuzz(func(t *testing.T, cmd, joined string) {
		if !slices.Contains([]string{"conn", "pub", "sub"}, cmd) {
			return
		}
		c, _, _ := root.Find([]string{cmd})
		args := strings.Split(joined, "\x00")
		once, err := cmdutil.ApplyAliases(cmd, args, c.Flags())
		if err != nil {
			return
		}
		twice, err := cmdutil.ApplyAliases(cmd, once, c.Flags())
		if err != nil || !slices.Equal(once, twice) {
			t.Fatalf("not idempotent: %q -> %q -> %q (%v)", args, once, twice, err)
		}
		if len(once) > len(args) {
			t.Fatalf("%q grew to %q", args, once)
		}
		hasAlias := false
		for _, a := range args {
			name, _, _ := strings.Cut(a, "=")
			if name == "-D" || name == "--property" {
				hasAlias = true
			}
			for _, al := range cmdutil.Aliases {
				if al.Spelling == name {
					hasAlias = true
				}
			}
		}
		if !hasAlias && !slices.Equal(once, args) {
			t.Fatalf("no alias in %q but rewritten to %q", args, once)
		}
	})
}

// TestAliasesOfSubcommandsAndCompletion checks that the spellings reach commands below
// the top level (bench pub) and shell completion, which parses the same words.
func TestAliasesOfSubcommandsAndCompletion(t *testing.T) {
	values, _ := complete(t, nil, "simulate", "-sc", "te")
	if !slices.Equal(values, []string{"tesla"}) {
		t.Errorf("simulate -sc te<Tab> = %q, want tesla", values)
	}
	code, _, errOut := runEnv(t, nil, "bench", "pub", "-t", "x", "-im", "soon")
	if code != ExitUsage || !strings.Contains(errOut, `"soon" is not a duration`) || !strings.Contains(errOut, "--interval-msg") {
		t.Errorf("bench pub -im soon: code %d, stderr %q", code, errOut)
	}
}
