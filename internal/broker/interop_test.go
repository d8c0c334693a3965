package broker_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/mqttx/mqttx/internal/broker"
	"github.com/mqttx/mqttx/internal/broker/brokertest"
)

// mosquittoTool returns the path of a mosquitto client, skipping the test
// when it is absent outside CI and failing it in CI.
func mosquittoTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not found and CI=true: install mosquitto-clients", name)
		}
		t.Skipf("%s not found: install mosquitto-clients to run this interop test", name)
	}
	return p
}

// interopBroker starts a broker whose subscribe events arrive on the
// returned channel, so tests publish only once a subscriber is ready.
func interopBroker(t *testing.T) (host, port string, subscribed chan broker.Event) {
	subscribed = make(chan broker.Event, 64)
	addr := brokertest.Start(t, func(o *broker.Options) {
		o.OnEvent = func(e broker.Event) {
			if e.Kind == broker.EventSubscribed || e.Kind == broker.EventDisconnected {
				select {
				case subscribed <- e:
				default:
				}
			}
		}
	})
	host, port, _ = net.SplitHostPort(addr)
	return host, port, subscribed
}

func waitEvent(t *testing.T, ch chan broker.Event, kind, clientID string) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case e := <-ch:
			if e.Kind == kind && (clientID == "" || e.ClientID == clientID) {
				return
			}
		case <-deadline:
			t.Fatalf("no %s event for %q within 5s", kind, clientID)
		}
	}
}

func run(t *testing.T, ctx context.Context, bin string, args ...string) string {
	t.Helper()
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", bin, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestInteropMosquittoClients(t *testing.T) {
	pubBin := mosquittoTool(t, "mosquitto_pub")
	subBin := mosquittoTool(t, "mosquitto_sub")
	for _, v := range []string{"311", "5"} {
		t.Run("V"+v, func(t *testing.T) {
			host, port, events := interopBroker(t)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			common := []string{"-h", host, "-p", port, "-V", v}
			args := func(a ...string) []string { return append(append([]string{}, common...), a...) }

			t.Run("wildcard subscription, two publishers", func(t *testing.T) {
				cmd := exec.CommandContext(ctx, subBin, args("-i", "wsub", "-t", "iot/+/temp", "-v", "-C", "2", "-W", "10")...)
				var out bytes.Buffer
				cmd.Stdout, cmd.Stderr = &out, &out
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				waitEvent(t, events, broker.EventSubscribed, "wsub")
				run(t, ctx, pubBin, args("-t", "iot/a/temp", "-m", "21")...)
				run(t, ctx, pubBin, args("-t", "iot/b/temp", "-m", "22", "-q", "1")...)
				if err := cmd.Wait(); err != nil {
					t.Fatalf("mosquitto_sub: %v\n%s", err, out.String())
				}
				if got := out.String(); got != "iot/a/temp 21\niot/b/temp 22\n" {
					t.Fatalf("mosquitto_sub printed %q", got)
				}
			})

			t.Run("retained, last only", func(t *testing.T) {
				run(t, ctx, pubBin, args("-t", "ret/x", "-m", "first", "-r")...)
				run(t, ctx, pubBin, args("-t", "ret/x", "-m", "second", "-r", "-q", "1")...)
				cmd := exec.CommandContext(ctx, subBin, args("-t", "ret/#", "-v", "-C", "2", "-W", "1")...)
				out, _ := cmd.CombinedOutput() // times out after the single retained message
				if !strings.HasPrefix(string(out), "ret/x second\n") || strings.Contains(string(out), "first") {
					t.Fatalf("mosquitto_sub printed %q, want only the last retained message", out)
				}
			})

			t.Run("offline QoS 1 in order", func(t *testing.T) {
				persist := []string{"-i", "offline-" + v, "-c", "-q", "1", "-t", "queue/t"}
				if v == "5" {
					persist = append(persist, "-x", "300")
				}
				run(t, ctx, subBin, args(append(persist, "-E")...)...)
				waitEvent(t, events, broker.EventDisconnected, "offline-"+v)
				var want strings.Builder
				for i := range 20 {
					run(t, ctx, pubBin, args("-t", "queue/t", "-q", "1", "-m", fmt.Sprint(i))...)
					fmt.Fprintf(&want, "%d\n", i)
				}
				got := run(t, ctx, subBin, args(append(persist, "-C", "20", "-W", "10")...)...)
				if got != want.String() {
					t.Fatalf("offline messages:\n%s\nwant 0..19 in order", got)
				}
			})

			t.Run("last will on abnormal disconnect", func(t *testing.T) {
				watch := exec.CommandContext(ctx, subBin, args("-i", "watcher", "-t", "lw/#", "-v", "-C", "1", "-W", "10")...)
				var out bytes.Buffer
				watch.Stdout, watch.Stderr = &out, &out
				if err := watch.Start(); err != nil {
					t.Fatal(err)
				}
				waitEvent(t, events, broker.EventSubscribed, "watcher")
				victim := exec.CommandContext(ctx, subBin, args("-i", "victim", "-t", "nothing", "--will-topic", "lw/victim", "--will-payload", "offline", "--will-qos", "1")...)
				if err := victim.Start(); err != nil {
					t.Fatal(err)
				}
				waitEvent(t, events, broker.EventSubscribed, "victim")
				victim.Process.Kill() // no DISCONNECT: the socket just closes
				victim.Wait()
				if err := watch.Wait(); err != nil {
					t.Fatalf("watcher: %v\n%s", err, out.String())
				}
				if got := out.String(); got != "lw/victim offline\n" {
					t.Fatalf("watcher printed %q", got)
				}
			})
		})
	}
}
