package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	"golang.org/x/crypto/bcrypt"

	"github.com/mqttx/mqttx/internal/cli"
	"github.com/mqttx/mqttx/internal/cli/cmdutil"
	"github.com/mqttx/mqttx/internal/mosquittotest"
	"github.com/mqttx/mqttx/internal/output"
)

// broker is one MQTT broker the end-to-end scripts run against. Every script gets a
// fresh one, reachable at $MQTT_HOST:$MQTT_PORT; $BROKER holds its name and the
// condition [broker:NAME] selects lines for one broker.
type broker struct {
	name string
	// available skips (or, with CI=true, fails) t when the broker cannot run here.
	available func(t *testing.T)
	// start starts the broker with its files under dir.
	start func(dir string) (host string, port int, stop func(), err error)
	// startAuth starts the broker accepting only user with password; nil when the broker
	// cannot do that, and the authbroker command then skips the script.
	startAuth func(dir, user, password string) (host string, port int, stop func(), err error)
	// startWS starts the broker with a plain WebSocket listener too (path /mqtt); nil when
	// the broker cannot, and scripts guard such lines with [wsbroker].
	startWS func(dir string) (host string, port, wsPort int, stop func(), err error)
	// startLimited starts the broker with a Maximum Packet Size of max bytes.
	startLimited func(dir string, max int) (host string, port int, stop func(), err error)
}

// brokers lists every broker the scripts run against; add one here to run them all
// against it.
var brokers = []broker{
	{
		name:      "serve",
		available: func(t *testing.T) {},
		start: func(dir string) (string, int, func(), error) {
			host, port, _, stop, err := startServe(dir)
			return host, port, stop, err
		},
		startAuth: func(dir, user, password string) (string, int, func(), error) {
			hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
			if err != nil {
				return "", 0, nil, err
			}
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return "", 0, nil, err
			}
			users := filepath.Join(dir, "users.yaml")
			if err := os.WriteFile(users, fmt.Appendf(nil, "%s: %q\n", user, hash), 0o600); err != nil {
				return "", 0, nil, err
			}
			host, port, _, stop, err := startServe(dir, "--users", users)
			return host, port, stop, err
		},
		startWS: func(dir string) (string, int, int, func(), error) {
			return startServe(dir, "--ws-port", "0")
		},
		startLimited: func(dir string, max int) (string, int, func(), error) {
			host, port, _, stop, err := startServe(dir, "--max-packet-size", strconv.Itoa(max))
			return host, port, stop, err
		},
	},
	{
		name:      "mosquitto",
		available: func(t *testing.T) { mosquittotest.Binary(t) },
		start: func(dir string) (string, int, func(), error) {
			return startMosquitto(dir)
		},
		startAuth: func(dir, user, password string) (string, int, func(), error) {
			return startMosquitto(dir, mosquittotest.WithUser(user, password))
		},
		startWS: func(dir string) (string, int, int, func(), error) {
			b, err := mosquittotest.StartBrokerProcess(dir, mosquittotest.WithWebSocket())
			if err != nil {
				return "", 0, 0, nil, err
			}
			host, port, err := splitHostPort(b.Addr)
			if err != nil {
				b.Stop()
				return "", 0, 0, nil, err
			}
			_, wsPort, err := splitHostPort(b.WSAddr)
			if err != nil {
				b.Stop()
				return "", 0, 0, nil, err
			}
			return host, port, wsPort, b.Stop, nil
		},
		startLimited: func(dir string, max int) (string, int, func(), error) {
			return startMosquitto(dir, mosquittotest.WithConfig(fmt.Sprintf("max_packet_size %d", max)))
		},
	},
}

// startServe runs the real `mqttx serve -p 0 ARGS...` command in this process and reads
// the ports it prints ("Listening on 127.0.0.1:PORT", "... (websocket /mqtt)"); wsPort is
// 0 without --ws-port. stop cancels it as Ctrl-C would and waits for a clean exit.
func startServe(dir string, args ...string) (host string, port, wsPort int, stop func(), err error) {
	streams, _, _, _ := output.Test()
	lines := &lineWatcher{ch: make(chan string, 16)}
	streams.ErrOut = lines
	streams.Out = io.Discard
	f := cmdutil.New(streams)
	f.Getenv = func(string) string { return "" }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- cli.Run(ctx, append([]string{"serve", "-h", "127.0.0.1", "-p", "0"}, args...), f) }()
	stop = func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
		}
	}
	wantWS := slices.Contains(args, "--ws-port")
	re := regexp.MustCompile(`^Listening on (\S+)( \(websocket /mqtt\))?$`)
	timeout := time.After(10 * time.Second)
	for port == 0 || (wantWS && wsPort == 0) {
		select {
		case line := <-lines.ch:
			m := re.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			h, p, err := splitHostPort(m[1])
			if err != nil {
				stop()
				return "", 0, 0, nil, err
			}
			if m[2] != "" {
				wsPort = p
			} else {
				host, port = h, p
			}
		case code := <-done:
			cancel()
			return "", 0, 0, nil, fmt.Errorf("mqttx serve exited with code %d before listening", code)
		case <-timeout:
			stop()
			return "", 0, 0, nil, errors.New("mqttx serve did not print its address within 10s")
		}
	}
	return host, port, wsPort, stop, nil
}

// lineWatcher is serve's stderr: it passes every complete line to ch (dropping lines
// when nobody reads) so startServe can find the listening addresses.
type lineWatcher struct {
	mu  sync.Mutex
	buf []byte
	ch  chan string
}

func (w *lineWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		select {
		case w.ch <- string(w.buf[:i]):
		default:
		}
		w.buf = w.buf[i+1:]
	}
}

func startMosquitto(dir string, opts ...mosquittotest.Option) (string, int, func(), error) {
	addr, stop, err := mosquittotest.StartProcess(dir, opts...)
	if err != nil {
		return "", 0, nil, err
	}
	host, port, err := splitHostPort(addr)
	if err != nil {
		stop()
		return "", 0, nil, err
	}
	return host, port, stop, nil
}

func splitHostPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	return host, port, err
}

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"mqttx": func() { os.Exit(cli.Main(os.Args[1:], output.System())) },
		// mqttxlog FILE ARGS... runs mqttx with its stdout and stderr also copied to
		// FILE, so a script can wait for a background command's lines ("Subscribed to"),
		// and appends "[exit N]" to FILE when it ends.
		"mqttxlog": func() {
			if len(os.Args) < 2 {
				fmt.Fprintln(os.Stderr, "usage: mqttxlog FILE ARGS...")
				os.Exit(2)
			}
			f, err := os.Create(os.Args[1])
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			streams := output.System()
			streams.Out = io.MultiWriter(os.Stdout, f)
			streams.ErrOut = io.MultiWriter(os.Stderr, f)
			code := cli.Main(os.Args[2:], streams)
			// The exit code goes to the file only, for waitfor to see.
			fmt.Fprintf(f, "[exit %d]\n", code)
			f.Close()
			os.Exit(code)
		},
	})
}

func TestScripts(t *testing.T) {
	for _, b := range brokers {
		t.Run(b.name, func(t *testing.T) {
			b.available(t)
			testscript.Run(t, testscript.Params{
				Dir:                 "testdata/script",
				RequireExplicitExec: false,
				Setup: func(env *testscript.Env) error {
					host, port, stop, err := b.start(filepath.Join(env.WorkDir, ".broker"))
					if err != nil {
						return fmt.Errorf("start %s: %w", b.name, err)
					}
					env.Defer(stop)
					env.Setenv("BROKER", b.name)
					env.Setenv("MQTT_HOST", host)
					env.Setenv("MQTT_PORT", strconv.Itoa(port))
					// No saved profile or environment leaks in from the machine.
					env.Setenv("MQTTX_CONFIG", filepath.Join(env.WorkDir, ".no-config.yaml"))
					env.Setenv("XDG_CONFIG_HOME", filepath.Join(env.WorkDir, ".config"))
					return nil
				},
				Condition: func(cond string) (bool, error) {
					switch cond {
					case "authbroker":
						return b.startAuth != nil, nil
					case "wsbroker":
						return b.startWS != nil, nil
					}
					if name, ok := strings.CutPrefix(cond, "broker:"); ok {
						return name == b.name, nil
					}
					return false, fmt.Errorf("unknown condition %q", cond)
				},
				Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
					"waitfor":     cmdWaitFor,
					"exitcode":    cmdExitCode,
					"freeport":    cmdFreePort,
					"silentport":  cmdSilentPort,
					"hasjson":     cmdHasJSON,
					"expandenv":   cmdExpandEnv,
					"authbroker":  authBrokerCmd(b),
					"wsbroker":    wsBrokerCmd(b),
					"limitbroker": limitBrokerCmd(b),
				},
			})
		})
	}
}

// waitfor FILE REGEXP [TIMEOUT] waits until FILE (written by a background command)
// matches REGEXP; the default timeout is 10s.
func cmdWaitFor(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 || len(args) > 3 {
		ts.Fatalf("usage: waitfor FILE REGEXP [TIMEOUT]")
	}
	re, err := regexp.Compile(`(?m)` + args[1])
	ts.Check(err)
	timeout := 10 * time.Second
	if len(args) == 3 {
		timeout, err = time.ParseDuration(args[2])
		ts.Check(err)
	}
	file := ts.MkAbs(args[0])
	deadline := time.Now().Add(timeout)
	for {
		data, _ := os.ReadFile(file)
		if re.Match(data) {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("waitfor: %s does not match %q after %s; it holds:\n%s", args[0], args[1], timeout, data)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// exitcode N PROGRAM ARGS... runs PROGRAM and requires exit code N; stdout and stderr
// can be checked afterwards as with exec.
func cmdExitCode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exitcode N PROGRAM [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	err = ts.Exec(args[1], args[2:]...)
	got := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("exitcode: %v", err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("exit code %d, want %d", got, want)
	}
}

// freeport VAR sets VAR to a loopback port that nothing listens on.
func cmdFreePort(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: freeport VAR")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	ts.Check(err)
	port := l.Addr().(*net.TCPAddr).Port
	ts.Check(l.Close())
	ts.Setenv(args[0], strconv.Itoa(port))
}

// silentport VAR starts a loopback listener that accepts connections and never answers
// (no CONNACK), and sets VAR to its port. It closes when the script ends.
func cmdSilentPort(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: silentport VAR")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	ts.Check(err)
	var conns []net.Conn
	var mu sync.Mutex
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	ts.Defer(func() {
		l.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	ts.Setenv(args[0], strconv.Itoa(l.Addr().(*net.TCPAddr).Port))
}

// expandenv FILE... replaces $VAR and ${VAR} in each file with the script's environment.
func cmdExpandEnv(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: expandenv FILE...")
	}
	for _, f := range args {
		data := ts.ReadFile(f)
		ts.Check(os.WriteFile(ts.MkAbs(f), []byte(os.Expand(data, ts.Getenv)), 0o644))
	}
}

// authBrokerCmd returns "authbroker USER PASSWORD": start a second broker of the same
// kind accepting only USER with PASSWORD, at $AUTH_HOST:$AUTH_PORT. The condition
// [authbroker] says whether the broker under test can.
func authBrokerCmd(b broker) func(ts *testscript.TestScript, neg bool, args []string) {
	return func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 2 {
			ts.Fatalf("usage: authbroker USER PASSWORD")
		}
		if b.startAuth == nil {
			ts.Fatalf("%s cannot require a password: guard the line with [authbroker]", b.name)
		}
		host, port, stop, err := b.startAuth(ts.MkAbs(".authbroker"), args[0], args[1])
		ts.Check(err)
		ts.Defer(stop)
		ts.Setenv("AUTH_HOST", host)
		ts.Setenv("AUTH_PORT", strconv.Itoa(port))
	}
}

// wsBrokerCmd returns "wsbroker": start a second broker of the same kind with a
// WebSocket listener, at $WS_HOST:$WS_PORT (and MQTT over TCP at $WS_TCP_PORT). The
// condition [wsbroker] says whether the broker under test can.
func wsBrokerCmd(b broker) func(ts *testscript.TestScript, neg bool, args []string) {
	return func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 0 {
			ts.Fatalf("usage: wsbroker")
		}
		if b.startWS == nil {
			ts.Fatalf("%s cannot serve WebSocket here: guard the line with [wsbroker]", b.name)
		}
		host, port, wsPort, stop, err := b.startWS(ts.MkAbs(".wsbroker"))
		ts.Check(err)
		ts.Defer(stop)
		ts.Setenv("WS_HOST", host)
		ts.Setenv("WS_PORT", strconv.Itoa(wsPort))
		ts.Setenv("WS_TCP_PORT", strconv.Itoa(port))
	}
}

// hasjson [-count=N] FILE KEY=VALUE... requires a line of FILE (or stdout/stderr) that
// is a JSON object with every KEY=VALUE (N such lines with -count). KEY may be dotted
// to reach into objects (properties.content_type); VALUE is compared with the field
// printed by fmt (strings as is, numbers as 17 or 1.5, true/false, null as <nil>).
func cmdHasJSON(ts *testscript.TestScript, neg bool, args []string) {
	count := -1
	if len(args) > 0 && strings.HasPrefix(args[0], "-count=") {
		n, err := strconv.Atoi(strings.TrimPrefix(args[0], "-count="))
		ts.Check(err)
		count, args = n, args[1:]
	}
	if len(args) < 1 {
		ts.Fatalf("usage: hasjson [-count=N] FILE KEY=VALUE...")
	}
	data := ts.ReadFile(args[0])
	matches := 0
	for _, line := range strings.Split(data, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var obj map[string]any
		if err := json.Unmarshal([]byte(line), &obj); err != nil {
			if !neg {
				ts.Fatalf("hasjson: %s: line is not a JSON object: %v\n%s", args[0], err, line)
			}
			continue
		}
		if jsonMatches(obj, args[1:]) {
			matches++
		}
	}
	switch {
	case neg && matches > 0:
		ts.Fatalf("hasjson: %s has %d lines with %s", args[0], matches, strings.Join(args[1:], " "))
	case !neg && count < 0 && matches == 0:
		ts.Fatalf("hasjson: no line of %s has %s", args[0], strings.Join(args[1:], " "))
	case !neg && count >= 0 && matches != count:
		ts.Fatalf("hasjson: %d lines of %s have %s, want %d", matches, args[0], strings.Join(args[1:], " "), count)
	}
}

func jsonMatches(obj map[string]any, pairs []string) bool {
	for _, kv := range pairs {
		k, want, _ := strings.Cut(kv, "=")
		var v any = obj
		for _, part := range strings.Split(k, ".") {
			m, ok := v.(map[string]any)
			if !ok {
				return false
			}
			if v, ok = m[part]; !ok {
				return false
			}
		}
		if fmt.Sprint(v) != want {
			return false
		}
	}
	return true
}

// limitBrokerCmd returns "limitbroker MAX": start a second broker of the same kind with
// a Maximum Packet Size of MAX bytes, at $LIMIT_HOST:$LIMIT_PORT.
func limitBrokerCmd(b broker) func(ts *testscript.TestScript, neg bool, args []string) {
	return func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 1 {
			ts.Fatalf("usage: limitbroker MAX")
		}
		max, err := strconv.Atoi(args[0])
		ts.Check(err)
		host, port, stop, err := b.startLimited(ts.MkAbs(".limitbroker"), max)
		ts.Check(err)
		ts.Defer(stop)
		ts.Setenv("LIMIT_HOST", host)
		ts.Setenv("LIMIT_PORT", strconv.Itoa(port))
	}
}
