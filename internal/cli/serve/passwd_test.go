package serve

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mqttx/mqttx/internal/broker/auth"
	"github.com/mqttx/mqttx/internal/cli/cmdutil"
	"github.com/mqttx/mqttx/internal/mosquittotest"
	"github.com/mqttx/mqttx/internal/mqttc"
	"github.com/mqttx/mqttx/internal/output"
)

// runCLIIn runs `mqttx serve args...` with stdin; code is the exit code the
// root command maps the error to: 2 for a usage error, 1 for others.
func runCLIIn(stdin string, args ...string) (code int, stderr string) {
	ios, in, _, errOut := output.Test()
	in.WriteString(stdin)
	cmd := NewCmd(cmdutil.New(ios), nil)
	cmd.SetArgs(args[1:])
	cmd.SetOut(errOut)
	cmd.SetErr(errOut)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.ExecuteContext(context.Background())
	var fe *cmdutil.FlagError
	switch {
	case err == nil:
		return 0, errOut.String()
	case errors.As(err, &fe):
		return 2, err.Error()
	}
	return 1, err.Error()
}

func checkUsers(t *testing.T, file string, want map[string]string) {
	t.Helper()
	u, err := auth.LoadUsers(file)
	if err != nil {
		t.Fatal(err)
	}
	if u.Len() != len(want) {
		t.Fatalf("%d users in %s, want %d", u.Len(), file, len(want))
	}
	for user, pw := range want {
		if !u.Check(user, []byte(pw), true) || u.Check(user, []byte(pw+"x"), true) {
			t.Fatalf("user %s: password %q not the one set", user, pw)
		}
	}
}

func TestPasswd(t *testing.T) {
	file := filepath.Join(t.TempDir(), "passwd")
	if code, errOut := runCLIIn("", "serve", "passwd", "-c", "-b", file, "alice", "a1"); code != 0 {
		t.Fatalf("create: exit %d: %s", code, errOut)
	}
	if st, err := os.Stat(file); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("new file mode %v (%v), want 0600", st.Mode(), err)
	}
	if code, errOut := runCLIIn("b1\n", "serve", "passwd", file, "bob"); code != 0 {
		t.Fatalf("add from stdin: exit %d: %s", code, errOut)
	}
	checkUsers(t, file, map[string]string{"alice": "a1", "bob": "b1"})
	if code, errOut := runCLIIn("a2\r\n", "serve", "passwd", file, "alice"); code != 0 {
		t.Fatalf("update: exit %d: %s", code, errOut)
	}
	checkUsers(t, file, map[string]string{"alice": "a2", "bob": "b1"})
	b, _ := os.ReadFile(file)
	if lines := strings.Split(strings.TrimSpace(string(b)), "\n"); len(lines) != 2 || !strings.HasPrefix(lines[0], "alice:$7$101$") {
		t.Fatalf("file after update:\n%s\nwant alice's line first, updated in place", b)
	}
	if code, errOut := runCLIIn("", "serve", "passwd", "-D", file, "alice"); code != 0 {
		t.Fatalf("delete: exit %d: %s", code, errOut)
	}
	checkUsers(t, file, map[string]string{"bob": "b1"})

	yaml := filepath.Join(t.TempDir(), "users.yaml")
	os.WriteFile(yaml, []byte("alice: '$2a$04$abcdefghijklmnopqrstuu8ZrVSZ4XoNWWGnyb7aOb9H3fmgPdbbK'\n"), 0o600)
	for _, tt := range []struct {
		name  string
		stdin string
		args  []string
		code  int
		want  string
	}{
		{"no user", "", []string{file}, 2, "want <file> <username>"},
		{"batch without password", "", []string{"-b", file, "carol"}, 2, "-b needs"},
		{"delete and create", "", []string{"-D", "-c", file, "bob"}, 2, "-D deletes"},
		{"colon in name", "", []string{"-b", file, "a:b", "pw"}, 2, "contains ':'"},
		{"empty stdin", "", []string{file, "carol"}, 1, "empty password"},
		{"missing file", "pw\n", []string{filepath.Join(t.TempDir(), "nope"), "carol"}, 1, "create it with -c"},
		{"delete unknown", "", []string{"-D", file, "carol"}, 1, `no user "carol"`},
		{"yaml file", "pw\n", []string{yaml, "carol"}, 1, "start a new file with -c"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, errOut := runCLIIn(tt.stdin, append([]string{"serve", "passwd"}, tt.args...)...)
			if code != tt.code || !strings.Contains(errOut, tt.want) {
				t.Fatalf("exit %d, stderr %q; want exit %d and %q", code, errOut, tt.code, tt.want)
			}
		})
	}
	checkUsers(t, file, map[string]string{"bob": "b1"})
}

// TestPasswdInteropMosquitto checks that a password file written by Debian's
// mosquitto_passwd works with serve --users unchanged, and that one written by
// serve passwd works as mosquitto's password_file, with mosquitto_pub as the client.
func TestPasswdInteropMosquitto(t *testing.T) {
	mosquittoPasswd := mosquittoClient(t, "mosquitto_passwd")
	mosquittoClient(t, "mosquitto_pub")

	t.Run("mosquitto_passwd file in serve", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "passwd")
		for i, args := range [][]string{{"-c", "-b", file, "alice", "s3cret"}, {"-b", file, "bob", "b0b"}} {
			if out, err := exec.Command(mosquittoPasswd, args...).CombinedOutput(); err != nil {
				t.Fatalf("mosquitto_passwd %d: %v: %s", i, err, out)
			}
		}
		o := defaults()
		o.UsersFile = file
		s := startServe(t, o)
		_, port := hostPort(t, s.addrs["mqtt"])
		p := strconv.Itoa(port)
		runPub(t, "-h", "127.0.0.1", "-p", p, "-u", "alice", "-P", "s3cret", "-t", "t", "-m", "m", "-q", "1")
		runPub(t, "-h", "127.0.0.1", "-p", p, "-u", "bob", "-P", "b0b", "-t", "t", "-m", "m", "-V", "mqttv5")
		pubRefused(t, "-h", "127.0.0.1", "-p", p, "-u", "alice", "-P", "b0b", "-t", "t", "-m", "m")
	})

	t.Run("serve passwd file in mosquitto", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "passwd")
		if code, errOut := runCLIIn("s3cret\n", "serve", "passwd", "-c", file, "alice"); code != 0 {
			t.Fatalf("serve passwd: exit %d: %s", code, errOut)
		}
		if code, errOut := runCLIIn("", "serve", "passwd", "-b", file, "bob", "b0b"); code != 0 {
			t.Fatalf("serve passwd: exit %d: %s", code, errOut)
		}
		addr := mosquittotest.Start(t, mosquittotest.WithConfig("allow_anonymous false", "password_file "+file))
		_, port := hostPort(t, addr)
		p := strconv.Itoa(port)
		runPub(t, "-h", "127.0.0.1", "-p", p, "-u", "alice", "-P", "s3cret", "-t", "t", "-m", "m", "-q", "1")
		runPub(t, "-h", "127.0.0.1", "-p", p, "-u", "bob", "-P", "b0b", "-t", "t", "-m", "m")
		pubRefused(t, "-h", "127.0.0.1", "-p", p, "-u", "bob", "-P", "s3cret", "-t", "t", "-m", "m")
		pubRefused(t, "-h", "127.0.0.1", "-p", p, "-t", "t", "-m", "m")
	})
}

// pubRefused runs mosquitto_pub and expects the broker to refuse its login.
func pubRefused(t *testing.T, args ...string) {
	t.Helper()
	bin := mosquittoClient(t, "mosquitto_pub")
	out, err := exec.Command(bin, args...).CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || !strings.Contains(strings.ToLower(string(out)), "not authori") && !strings.Contains(strings.ToLower(string(out)), "bad user") {
		t.Fatalf("mosquitto_pub %s: %v: %s; want a refused login", strings.Join(args, " "), err, out)
	}
}

// TestServeAllowAnonymous checks that --users refuses clients without a
// username unless --allow-anonymous, which still checks those that give one.
func TestServeAllowAnonymous(t *testing.T) {
	file := filepath.Join(t.TempDir(), "passwd")
	if code, errOut := runCLIIn("", "serve", "passwd", "-c", "-b", file, "alice", "pw"); code != 0 {
		t.Fatalf("serve passwd: exit %d: %s", code, errOut)
	}
	o := defaults()
	o.UsersFile = file
	o.AllowAnonymous = true
	s := startServe(t, o)
	client(t, "mqtt", s.addrs["mqtt"], "anon", mqttc.V5)
	host, port := hostPort(t, s.addrs["mqtt"])
	c, err := mqttc.New(mqttc.Options{Version: mqttc.V311, Host: host, Port: port, ClientID: "x", CleanStart: true, Username: "alice", Password: "no", HasPassword: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Connect(ctx5(t))
	var re *mqttc.RefusedError
	if !errors.As(err, &re) {
		t.Fatalf("wrong password with --allow-anonymous: %v, want a refusal", err)
	}
}
