// Command brokerbench measures `mqttx serve` against Debian's mosquitto in one run on
// this machine: broker CPU time per delivered message (fan-in, fan-out, QoS 0 and 1),
// end-to-end latency at a fixed rate, resident memory per idle connection and
// connections accepted per second. Each scenario runs against a freshly started broker,
// alternating between the two, and the table gives both figures and the ratio
// ours/mosquitto. Run it through scripts/brokerbench.sh.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"os/user"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/pprof"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/mqttx/mqttx/internal/mosquittotest"
	"github.com/mqttx/mqttx/tools/harness"
)

type config struct {
	mosquitto   string
	mqttx       string
	only        string
	qos0Msgs    int
	qos1Msgs    int
	latencyMsgs int
	conns       int
	rounds      int
	timeout     time.Duration
	jsonOut     string
	keep        bool
	serveArgs   string
	ours        string
	nodelay     string
	hold        time.Duration
	cpuprofile  string
	dialers     int
}

func main() {
	var c config
	flag.StringVar(&c.mosquitto, "mosquitto", "", "mosquitto binary (default: $MOSQUITTO, /usr/sbin/mosquitto, PATH); \"none\" to measure only ours")
	flag.StringVar(&c.mqttx, "mqttx", "bin/mqttx", "mqttx binary whose `serve` is measured; empty to skip")
	flag.StringVar(&c.only, "scenarios", "", "comma-separated subset: fanin-q0,fanin-q1,fanin-q1-session,fanin-q1-durable,fanout-q0,fanout-q1,latency-q0,latency-q1,latency10-q0,latency10-q1,idle,connect (default all)")
	flag.IntVar(&c.qos0Msgs, "qos0-messages", 200_000, "delivered messages per QoS 0 throughput run")
	flag.IntVar(&c.qos1Msgs, "qos1-messages", 100_000, "delivered messages per QoS 1 throughput run")
	flag.IntVar(&c.latencyMsgs, "latency-messages", 5_000, "messages per latency run (at 1000/s)")
	flag.IntVar(&c.conns, "connections", 5_000, "connections for the idle-memory and connect-rate runs")
	flag.IntVar(&c.dialers, "dialers", 4, "concurrent dialers for the idle-memory and connect-rate runs")
	flag.IntVar(&c.rounds, "rounds", 1, "runs per scenario and broker; the table shows the median")
	flag.DurationVar(&c.timeout, "timeout", 2*time.Minute, "limit per run")
	flag.StringVar(&c.jsonOut, "json", "", "also write every run's summary as JSON Lines to this file")
	flag.BoolVar(&c.keep, "keep", false, "keep the work directory (broker configs and logs)")
	flag.StringVar(&c.serveArgs, "serve-args", "", "extra arguments for `mqttx serve`, space separated")
	flag.StringVar(&c.nodelay, "mosquitto-nodelay", "latency", "when to give mosquitto set_tcp_nodelay true (Go sets TCP_NODELAY by default): latency (latency runs only; Nagle, mosquitto's default, is cheaper for throughput), always or never")
	flag.DurationVar(&c.hold, "hold", 0, "keep the idle connections open this long after sampling memory (to inspect the broker)")
	flag.StringVar(&c.cpuprofile, "cpuprofile", "", "write the load generator's own CPU profile to this file")
	flag.StringVar(&c.ours, "ours", "", "command line starting our broker instead of `mqttx serve -p 0` (it must print \"Listening on 127.0.0.1:PORT\" on stderr), e.g. \"bin/enginebroker -cpuprofile /tmp/cpu.out\"")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if c.cpuprofile != "" {
		f, err := os.Create(c.cpuprofile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "brokerbench:", err)
			os.Exit(1)
		}
		defer f.Close()
		defer pprof.StopCPUProfile()
	}
	if err := run(ctx, c); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "brokerbench:", err)
		os.Exit(1)
	}
}

// broker is a broker under test, started fresh for every run.
type broker struct {
	name  string
	start func(ctx context.Context, dir string, sc scenario) (*process, error)
}

type process struct {
	addr string
	pid  int
	cmd  *exec.Cmd
	done chan struct{}
}

func (p *process) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

type scenario struct {
	key   string
	label string
	run   func(ctx context.Context, o harness.Options) (*harness.Summary, error)
	opts  func(o *harness.Options)
	value func(s *harness.Summary) []float64
	names []string // one per value
	lower bool     // lower is better
	// durable runs the brokers with persistence: mosquitto with persistence true,
	// mqttx serve with --data-dir.
	durable bool
}

func scenarios(c config) []scenario {
	cpu := func(s *harness.Summary) []float64 { return []float64{s.CPUPerMsgUs} }
	rateAndCPU := func(s *harness.Summary) []float64 { return []float64{s.MsgsPerSec, s.CPUPerMsgUs} }
	lat := func(s *harness.Summary) []float64 {
		if s.Latency == nil {
			return []float64{0, 0}
		}
		return []float64{float64(s.Latency.P50), float64(s.Latency.P99)}
	}
	all := []scenario{
		{key: "fanin-q0", label: "fan-in 10->1 QoS 0", run: harness.FanIn, opts: func(o *harness.Options) { o.QoS, o.Messages = 0, c.qos0Msgs }, value: cpu, names: []string{"CPU us/msg"}, lower: true},
		{key: "fanin-q1", label: "fan-in 10->1 QoS 1", run: harness.FanIn, opts: func(o *harness.Options) { o.QoS, o.Messages = 1, c.qos1Msgs }, value: cpu, names: []string{"CPU us/msg"}, lower: true},
		{key: "fanin-q1-session", label: "fan-in 10->1 QoS 1, persistent subscriber", run: harness.FanIn, opts: func(o *harness.Options) { o.QoS, o.Messages, o.Persistent = 1, c.qos1Msgs, true }, value: rateAndCPU, names: []string{"msgs/s", "CPU us/msg"}},
		{key: "fanin-q1-durable", label: "same, persistence on", run: harness.FanIn, opts: func(o *harness.Options) { o.QoS, o.Messages, o.Persistent = 1, c.qos1Msgs, true }, value: rateAndCPU, names: []string{"msgs/s", "CPU us/msg"}, durable: true},
		{key: "fanout-q0", label: "fan-out 1->10 QoS 0", run: harness.FanOut, opts: func(o *harness.Options) { o.QoS, o.Messages = 0, c.qos0Msgs }, value: cpu, names: []string{"CPU us/msg"}, lower: true},
		{key: "fanout-q1", label: "fan-out 1->10 QoS 1", run: harness.FanOut, opts: func(o *harness.Options) { o.QoS, o.Messages = 1, c.qos1Msgs }, value: cpu, names: []string{"CPU us/msg"}, lower: true},
		{key: "latency-q0", label: "latency 1000/s QoS 0", run: harness.Latency, opts: func(o *harness.Options) { o.QoS, o.Messages = 0, c.latencyMsgs }, value: lat, names: []string{"p50 us", "p99 us"}, lower: true},
		{key: "latency-q1", label: "latency 1000/s QoS 1", run: harness.Latency, opts: func(o *harness.Options) { o.QoS, o.Messages = 1, c.latencyMsgs }, value: lat, names: []string{"p50 us", "p99 us"}, lower: true},
		{key: "latency10-q0", label: "latency 10x100/s QoS 0", run: harness.LatencyFanIn, opts: func(o *harness.Options) { o.QoS, o.Messages = 0, c.latencyMsgs }, value: lat, names: []string{"p50 us", "p99 us"}, lower: true},
		{key: "latency10-q1", label: "latency 10x100/s QoS 1", run: harness.LatencyFanIn, opts: func(o *harness.Options) { o.QoS, o.Messages = 1, c.latencyMsgs }, value: lat, names: []string{"p50 us", "p99 us"}, lower: true},
		{key: "idle", label: fmt.Sprintf("%d idle connections", c.conns), run: harness.IdleConns, opts: func(o *harness.Options) { o.Connections, o.Hold, o.Concurrency = c.conns, c.hold, c.dialers }, value: func(s *harness.Summary) []float64 { return []float64{s.BytesPerConn / 1024} }, names: []string{"KiB/conn"}, lower: true},
		{key: "connect", label: fmt.Sprintf("%d connects, %d dialers", c.conns, c.dialers), run: harness.ConnectRate, opts: func(o *harness.Options) { o.Connections, o.Concurrency = c.conns, c.dialers }, value: func(s *harness.Summary) []float64 { return []float64{s.ConnsPerSec, s.CPUPerConnUs} }, names: []string{"conns/s", "CPU us/conn"}},
	}
	if c.only == "" {
		return all
	}
	var out []scenario
	for _, k := range strings.Split(c.only, ",") {
		found := false
		for _, s := range all {
			if s.key == strings.TrimSpace(k) {
				out = append(out, s)
				found = true
			}
		}
		if !found {
			fmt.Fprintf(os.Stderr, "brokerbench: unknown scenario %q ignored\n", k)
		}
	}
	return out
}

func run(ctx context.Context, c config) error {
	dir, err := os.MkdirTemp("", "brokerbench-")
	if err != nil {
		return err
	}
	if c.keep {
		fmt.Fprintln(os.Stderr, "work directory:", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	mosq := c.mosquitto
	if mosq == "" {
		if mosq, err = mosquittotest.Lookup(); err != nil {
			return err
		}
	}
	var brokers []broker
	if mosq != "none" {
		switch c.nodelay {
		case "latency", "always", "never":
		default:
			return fmt.Errorf("invalid -mosquitto-nodelay %q: must be latency, always or never", c.nodelay)
		}
		brokers = append(brokers, broker{name: "mosquitto", start: func(ctx context.Context, d string, sc scenario) (*process, error) {
			nodelay := c.nodelay == "always" || c.nodelay == "latency" && strings.HasPrefix(sc.key, "latency")
			return startMosquitto(ctx, mosq, d, nodelay, sc.durable)
		}})
	}
	if c.ours != "" {
		argv := strings.Fields(c.ours)
		brokers = append(brokers, broker{name: filepath.Base(argv[0]), start: func(ctx context.Context, d string, sc scenario) (*process, error) {
			return startServe(ctx, withDataDir(argv, d, sc), d)
		}})
	} else if c.mqttx != "" {
		if err := serveAvailable(c.mqttx); err != nil {
			fmt.Fprintf(os.Stderr, "brokerbench: `%s serve` not available (%v): measuring mosquitto only\n", c.mqttx, err)
		} else {
			argv := append([]string{c.mqttx, "serve", "-p", "0"}, strings.Fields(c.serveArgs)...)
			brokers = append(brokers, broker{name: "mqttx serve", start: func(ctx context.Context, d string, sc scenario) (*process, error) {
				return startServe(ctx, withDataDir(argv, d, sc), d)
			}})
		}
	}
	if len(brokers) == 0 {
		return errors.New("no broker to measure: give -mqttx or -ours, or drop -mosquitto none")
	}
	var jsonw io.Writer
	if c.jsonOut != "" {
		f, err := os.Create(c.jsonOut)
		if err != nil {
			return err
		}
		defer f.Close()
		jsonw = f
	}

	loadBefore := loadAvg()
	type cell struct{ vals [][]float64 }
	scs := scenarios(c)
	results := make([][]cell, len(scs)) // [scenario][broker]
	var failures []string
	for i, sc := range scs {
		results[i] = make([]cell, len(brokers))
		for round := 0; round < c.rounds; round++ {
			for k := range brokers {
				bi := k
				if round%2 == 1 { // alternate who goes first
					bi = len(brokers) - 1 - k
				}
				b := brokers[bi]
				if ctx.Err() != nil {
					return ctx.Err()
				}
				s, err := runOne(ctx, c, b, sc, filepath.Join(dir, fmt.Sprintf("%s-%d-%d", sc.key, bi, round)))
				if err != nil {
					msg := fmt.Sprintf("%s on %s: %v", sc.label, b.name, err)
					failures = append(failures, msg)
					fmt.Fprintln(os.Stderr, "FAILED:", msg)
					continue
				}
				s.Target = b.name
				results[i][bi].vals = append(results[i][bi].vals, sc.value(s))
				fmt.Fprintf(os.Stderr, "%-22s %-12s %s\n", sc.label, b.name, s.Text())
				if jsonw != nil {
					data, _ := json.Marshal(s)
					fmt.Fprintf(jsonw, "%s\n", data)
				}
			}
		}
	}

	// The table: one row per scenario and metric.
	fmt.Fprintf(os.Stderr, "load average before %s, after %s (other processes share these %d CPUs)\n", loadBefore, loadAvg(), runtime.NumCPU())
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	head := "scenario\tmetric\t"
	for _, b := range brokers {
		head += b.name + "\t"
	}
	ratio := len(brokers) == 2 && brokers[0].name == "mosquitto"
	if ratio {
		head += "ours/mosquitto\t"
	}
	fmt.Fprintln(tw, head)
	for i, sc := range scs {
		for m, name := range sc.names {
			row := sc.label + "\t" + name + "\t"
			var meds []float64
			for bi := range brokers {
				v, ok := median(results[i][bi].vals, m)
				meds = append(meds, v)
				if ok {
					row += format(v) + "\t"
				} else {
					row += "failed\t"
				}
			}
			if ratio {
				if meds[0] > 0 && meds[1] > 0 {
					row += fmt.Sprintf("%.2fx\t", meds[1]/meds[0])
				} else {
					row += "-\t"
				}
			}
			fmt.Fprintln(tw, row)
		}
	}
	tw.Flush()
	if len(failures) > 0 {
		return fmt.Errorf("%d runs failed:\n  %s", len(failures), strings.Join(failures, "\n  "))
	}
	return nil
}

func runOne(ctx context.Context, c config, b broker, sc scenario, dir string) (*harness.Summary, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	p, err := b.start(ctx, dir, sc)
	if err != nil {
		return nil, fmt.Errorf("start: %w", err)
	}
	defer p.stop()
	o := harness.Options{Addr: p.addr, PID: p.pid, Timeout: c.timeout}
	sc.opts(&o)
	fmt.Fprintf(os.Stderr, "%s: %s pid %d on %s\n", sc.key, b.name, p.pid, p.addr)
	s, err := sc.run(ctx, o)
	select {
	case <-p.done:
		return s, fmt.Errorf("broker exited during the run (log in %s)", dir)
	default:
	}
	return s, err
}

func median(vals [][]float64, m int) (float64, bool) {
	if len(vals) == 0 {
		return 0, false
	}
	xs := make([]float64, len(vals))
	for i, v := range vals {
		xs[i] = v[m]
	}
	sort.Float64s(xs)
	n := len(xs)
	if n%2 == 0 {
		return (xs[n/2-1] + xs[n/2]) / 2, true
	}
	return xs[n/2], true
}

func format(v float64) string {
	switch {
	case v >= 1000:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

// loadAvg returns the 1-minute load average, or "?".
func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(data)); err == nil && len(f) > 0 {
		return f[0]
	}
	return "?"
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// withDataDir adds --data-dir in the run's directory to our broker's arguments for a
// durable scenario.
func withDataDir(argv []string, dir string, sc scenario) []string {
	if !sc.durable {
		return argv
	}
	return append(slices.Clip(argv), "--data-dir", filepath.Join(dir, "data"))
}

// startMosquitto starts mosquitto with a minimal configuration: one listener, no
// persistence (unless durable: persistence true in dir, saved every autosave_interval,
// its default), queues large enough for a whole run, logging errors and warnings to a
// file (per-message logging would dominate its CPU time).
func startMosquitto(ctx context.Context, bin, dir string, nodelay, durable bool) (*process, error) {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		var conf strings.Builder
		fmt.Fprintf(&conf, "listener %d 127.0.0.1\nallow_anonymous true\n", port)
		if durable {
			fmt.Fprintf(&conf, "persistence true\npersistence_location %s/\n", dir)
		} else {
			fmt.Fprintf(&conf, "persistence false\n")
		}
		// mosquitto reads one packet per socket per loop, so a fan-in subscriber's
		// acknowledgements lag far behind its deliveries and the default queue of 1000
		// would drop messages.
		fmt.Fprintf(&conf, "max_queued_messages 1000000\n")
		if nodelay {
			fmt.Fprintf(&conf, "set_tcp_nodelay true\n")
		}
		fmt.Fprintf(&conf, "log_dest file %s\nlog_type error\nlog_type warning\nconnection_messages false\n", filepath.Join(dir, "mosquitto.log"))
		if u, err := user.Current(); err == nil && os.Geteuid() == 0 {
			fmt.Fprintf(&conf, "user %s\n", u.Username)
		}
		cf := filepath.Join(dir, "mosquitto.conf")
		if err := os.WriteFile(cf, []byte(conf.String()), 0o644); err != nil {
			return nil, err
		}
		out, err := os.Create(filepath.Join(dir, "mosquitto.out"))
		if err != nil {
			return nil, err
		}
		cmd := exec.Command(bin, "-c", cf)
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			out.Close()
			return nil, fmt.Errorf("start %s: %w", bin, err)
		}
		out.Close()
		p := &process{addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), pid: cmd.Process.Pid, cmd: cmd, done: make(chan struct{})}
		go func() { _ = cmd.Wait(); close(p.done) }()
		if lastErr = waitListening(ctx, p); lastErr == nil {
			return p, nil
		}
		p.stop()
	}
	return nil, lastErr
}

func waitListening(ctx context.Context, p *process) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-p.done:
			return errors.New("broker exited before listening")
		default:
		}
		c, err := net.DialTimeout("tcp", p.addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("broker not listening on %s after 10s", p.addr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func serveAvailable(bin string) error {
	if _, err := os.Stat(bin); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "serve", "--help").CombinedOutput()
	if err != nil {
		return fmt.Errorf("%v: %s", err, firstLine(out))
	}
	if !strings.Contains(string(out), "serve") {
		return fmt.Errorf("unexpected help: %s", firstLine(out))
	}
	return nil
}

func firstLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

var listeningRE = regexp.MustCompile(`Listening on (?:mqtt://|tcp://)?(127\.0\.0\.1:\d+)`)

// startServe starts argv (`mqttx serve -p 0`) and reads its address from the "Listening
// on 127.0.0.1:PORT" line on stderr; the rest of its output goes to a log file.
func startServe(ctx context.Context, argv []string, dir string) (*process, error) {
	logf, err := os.Create(filepath.Join(dir, "serve.log"))
	if err != nil {
		return nil, err
	}
	bin := argv[0]
	cmd := exec.Command(bin, argv[1:]...)
	cmd.Stdout = logf
	stderr, err := cmd.StderrPipe()
	if err != nil {
		logf.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	p := &process{pid: cmd.Process.Pid, cmd: cmd, done: make(chan struct{})}
	addrc := make(chan string, 1)
	copied := make(chan struct{})
	go func() {
		// Keep draining stderr so the broker never blocks on it.
		defer close(copied)
		sc := bufio.NewScanner(stderr)
		found := false
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logf, line)
			if !found {
				if m := listeningRE.FindStringSubmatch(line); m != nil {
					found = true
					addrc <- m[1]
				}
			}
		}
	}()
	go func() {
		<-copied
		_ = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	select {
	case p.addr = <-addrc:
	case <-p.done:
		return nil, fmt.Errorf("%s exited before listening (log in %s)", bin, logf.Name())
	case <-time.After(10 * time.Second):
		p.stop()
		return nil, fmt.Errorf("%s printed no \"Listening on 127.0.0.1:PORT\" line within 10s (log in %s)", bin, logf.Name())
	case <-ctx.Done():
		p.stop()
		return nil, ctx.Err()
	}
	if err := waitListening(ctx, p); err != nil {
		p.stop()
		return nil, err
	}
	return p, nil
}
