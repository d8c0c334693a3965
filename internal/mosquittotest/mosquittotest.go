// Package mosquittotest starts Debian's mosquitto broker on loopback for tests: a fresh
// process per call, on free ports, with a generated configuration in a temporary
// directory, stopped when the test ends.
//
// Tests that need mosquitto skip with a clear message when the binary is absent, unless
// the environment variable CI is "true", in which case they fail.
package mosquittotest

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// DefaultPath is where Debian installs the broker.
const DefaultPath = "/usr/sbin/mosquitto"

// Option changes the generated broker configuration.
type Option func(*config)

// TLSListener describes a TLS listener: the server certificate and key (PEM files) and,
// when clients must present certificates, the CA that signs them.
type TLSListener struct {
	CertFile           string
	KeyFile            string
	CAFile             string // CA for client certificates; required by RequireCertificate
	RequireCertificate bool
}

type config struct {
	users        [][2]string
	websocket    bool
	tls          *TLSListener
	wss          *TLSListener
	maxKeepalive int
	extra        []string
}

// WithUser adds a user to the broker's password file (made with mosquitto_passwd) and
// turns anonymous access off. It may be given more than once.
func WithUser(username, password string) Option {
	return func(c *config) { c.users = append(c.users, [2]string{username, password}) }
}

// WithWebSocket adds a plain WebSocket listener; its address is Broker.WSAddr.
func WithWebSocket() Option {
	return func(c *config) { c.websocket = true }
}

// WithTLS adds a TLS listener (mqtts); its address is Broker.TLSAddr.
func WithTLS(l TLSListener) Option {
	return func(c *config) { c.tls = &l }
}

// WithWSS adds a secure WebSocket listener; its address is Broker.WSSAddr.
func WithWSS(l TLSListener) Option {
	return func(c *config) { c.wss = &l }
}

// WithMaxKeepalive sets max_keepalive (seconds): clients asking for more, or for 0, are
// told the server keep alive in CONNACK (MQTT 5) or refused (3.1.1).
func WithMaxKeepalive(seconds int) Option {
	return func(c *config) { c.maxKeepalive = seconds }
}

// WithConfig appends raw lines to the generated mosquitto.conf (global section, after
// the listeners).
func WithConfig(lines ...string) Option {
	return func(c *config) { c.extra = append(c.extra, lines...) }
}

// Broker is a running mosquitto.
type Broker struct {
	Addr    string // plain MQTT listener, "127.0.0.1:port"
	WSAddr  string // WebSocket listener when WithWebSocket was given
	TLSAddr string // TLS listener when WithTLS was given
	WSSAddr string // secure WebSocket listener when WithWSS was given
	Dir     string // directory holding mosquitto.conf and mosquitto.log
	LogFile string

	cmd  *exec.Cmd
	done chan struct{}
}

// Lookup returns the mosquitto binary: $MOSQUITTO if set, else DefaultPath, else
// "mosquitto" on PATH.
func Lookup() (string, error) {
	if p := os.Getenv("MOSQUITTO"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("mosquitto broker not found at $MOSQUITTO=%s: fix or unset $MOSQUITTO", p)
		}
		return p, nil
	}
	if _, err := os.Stat(DefaultPath); err == nil {
		return DefaultPath, nil
	}
	p, err := exec.LookPath("mosquitto")
	if err != nil {
		return "", errors.New("mosquitto broker not found at " + DefaultPath + " or on PATH: install the mosquitto package or set $MOSQUITTO")
	}
	return p, nil
}

// Binary returns the mosquitto binary, skipping the test when it is absent, or failing
// it when CI is "true".
func Binary(t testing.TB) string {
	t.Helper()
	p, err := Lookup()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%v (CI=true, so this test may not skip)", err)
		}
		t.Skipf("skipping: %v", err)
	}
	return p
}

// Start starts mosquitto for the test and returns the plain listener's address. The
// broker is stopped in t.Cleanup; its log is printed if the test failed.
func Start(t testing.TB, opts ...Option) string {
	t.Helper()
	return StartBroker(t, opts...).Addr
}

// StartBroker is Start returning every listener's address.
func StartBroker(t testing.TB, opts ...Option) *Broker {
	t.Helper()
	bin := Binary(t)
	b, err := start(bin, t.TempDir(), opts...)
	if err != nil {
		t.Fatalf("start mosquitto: %v", err)
	}
	t.Cleanup(func() {
		b.Stop()
		if t.Failed() {
			if log, err := os.ReadFile(b.LogFile); err == nil {
				t.Logf("mosquitto log (%s):\n%s", b.Addr, log)
			}
		}
	})
	return b
}

// StartProcess starts mosquitto outside a test (for example in a testscript Setup),
// writing its files under dir. It returns the plain listener's address and a stop
// function that is safe to call more than once.
func StartProcess(dir string, opts ...Option) (addr string, stop func(), err error) {
	b, err := StartBrokerProcess(dir, opts...)
	if err != nil {
		return "", nil, err
	}
	return b.Addr, b.Stop, nil
}

// StartBrokerProcess is StartProcess returning every listener's address.
func StartBrokerProcess(dir string, opts ...Option) (*Broker, error) {
	bin, err := Lookup()
	if err != nil {
		return nil, err
	}
	return start(bin, dir, opts...)
}

// Stop terminates the broker and waits for it to exit. It is safe to call more than once.
func (b *Broker) Stop() {
	select {
	case <-b.done:
		return
	default:
	}
	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-b.done:
	case <-time.After(3 * time.Second):
		_ = b.cmd.Process.Kill()
		<-b.done
	}
}

// Log returns what the broker logged so far.
func (b *Broker) Log() string {
	data, _ := os.ReadFile(b.LogFile)
	return string(data)
}

func start(bin, dir string, opts ...Option) (*Broker, error) {
	var c config
	for _, o := range opts {
		o(&c)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	pwfile := ""
	if len(c.users) > 0 {
		pwfile = filepath.Join(dir, "passwd")
		if err := writePasswords(bin, pwfile, c.users); err != nil {
			return nil, err
		}
	}
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		b, err := tryStart(bin, dir, pwfile, &c)
		if err == nil {
			return b, nil
		}
		lastErr = err
		if !errors.Is(err, errExited) {
			break
		}
	}
	return nil, lastErr
}

var errExited = errors.New("mosquitto exited")

func tryStart(bin, dir, pwfile string, c *config) (*Broker, error) {
	n := 1
	if c.websocket {
		n++
	}
	if c.tls != nil {
		n++
	}
	if c.wss != nil {
		n++
	}
	ports, err := freePorts(n)
	if err != nil {
		return nil, err
	}
	b := &Broker{Dir: dir, LogFile: filepath.Join(dir, "mosquitto.log"), done: make(chan struct{})}
	var conf bytes.Buffer
	addr := func(p int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(p)) }
	fmt.Fprintf(&conf, "per_listener_settings false\n")
	fmt.Fprintf(&conf, "listener %d 127.0.0.1\n", ports[0])
	b.Addr = addr(ports[0])
	i := 1
	if c.websocket {
		fmt.Fprintf(&conf, "listener %d 127.0.0.1\nprotocol websockets\n", ports[i])
		b.WSAddr = addr(ports[i])
		i++
	}
	writeTLS := func(l *TLSListener) {
		fmt.Fprintf(&conf, "certfile %s\nkeyfile %s\n", l.CertFile, l.KeyFile)
		if l.CAFile != "" {
			fmt.Fprintf(&conf, "cafile %s\n", l.CAFile)
		}
		if l.RequireCertificate {
			fmt.Fprintf(&conf, "require_certificate true\n")
		}
	}
	if c.tls != nil {
		fmt.Fprintf(&conf, "listener %d 127.0.0.1\n", ports[i])
		writeTLS(c.tls)
		b.TLSAddr = addr(ports[i])
		i++
	}
	if c.wss != nil {
		fmt.Fprintf(&conf, "listener %d 127.0.0.1\nprotocol websockets\n", ports[i])
		writeTLS(c.wss)
		b.WSSAddr = addr(ports[i])
	}
	if pwfile != "" {
		fmt.Fprintf(&conf, "allow_anonymous false\npassword_file %s\n", pwfile)
	} else {
		fmt.Fprintf(&conf, "allow_anonymous true\n")
	}
	fmt.Fprintf(&conf, "persistence false\n")
	if u, err := user.Current(); err == nil && os.Geteuid() == 0 {
		// mosquitto drops root privileges to user "mosquitto" unless told otherwise,
		// and that user could not read the files in dir.
		fmt.Fprintf(&conf, "user %s\n", u.Username)
	}
	if c.maxKeepalive > 0 {
		fmt.Fprintf(&conf, "max_keepalive %d\n", c.maxKeepalive)
	}
	fmt.Fprintf(&conf, "log_dest stderr\nlog_type all\nconnection_messages true\nlog_timestamp_format %%H:%%M:%%S\n")
	for _, l := range c.extra {
		fmt.Fprintln(&conf, l)
	}
	confFile := filepath.Join(dir, "mosquitto.conf")
	if err := os.WriteFile(confFile, conf.Bytes(), 0o644); err != nil {
		return nil, err
	}
	logf, err := os.OpenFile(b.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "-c", confFile)
	// An *os.File needs no copying goroutine, so nothing outlives Stop.
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	logf.Close()
	b.cmd = cmd
	go func() {
		_ = cmd.Wait()
		close(b.done)
	}()
	targets := []string{b.Addr, b.WSAddr, b.TLSAddr, b.WSSAddr}
	deadline := time.Now().Add(10 * time.Second)
	for _, a := range targets {
		if a == "" {
			continue
		}
		for {
			select {
			case <-b.done:
				return nil, fmt.Errorf("%w before listening on %s: %s", errExited, a, lastLines(b.Log(), 5))
			default:
			}
			conn, err := net.DialTimeout("tcp", a, 200*time.Millisecond)
			if err == nil {
				conn.Close()
				break
			}
			if time.Now().After(deadline) {
				b.Stop()
				return nil, fmt.Errorf("mosquitto not listening on %s after 10s: %s", a, lastLines(b.Log(), 5))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return b, nil
}

func writePasswords(bin, file string, users [][2]string) error {
	passwd := filepath.Join(filepath.Dir(bin), "mosquitto_passwd")
	if _, err := os.Stat(passwd); err != nil {
		if p, err := exec.LookPath("mosquitto_passwd"); err == nil {
			passwd = p
		} else {
			passwd = "/usr/bin/mosquitto_passwd"
		}
	}
	for i, u := range users {
		args := []string{"-b", file, u[0], u[1]}
		if i == 0 {
			args = append([]string{"-c"}, args...)
		}
		out, err := exec.Command(passwd, args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("mosquitto_passwd for user %q: %v: %s", u[0], err, strings.TrimSpace(string(out)))
		}
	}
	return nil
}

// freePorts reserves n distinct loopback ports by listening and closing; the broker
// start is retried when one was taken meanwhile.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
