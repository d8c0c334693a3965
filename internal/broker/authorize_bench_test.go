package broker_test

import (
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/mqttx/mqttx/internal/broker"
	"github.com/mqttx/mqttx/internal/broker/auth"
	"github.com/mqttx/mqttx/internal/broker/brokertest"
	"github.com/mqttx/mqttx/internal/mosquittotest"
	"github.com/mqttx/mqttx/internal/packet"
)

// benchACL is an acl_file of a realistic size for the benchmark clients
// (anonymous, client ids pub*, sub*): the rule that allows the bench topics
// comes after others that are tried first, and patterns follow.
const benchACL = `topic read public/#
topic deny bench/secret
topic readwrite sensors/+/temp
topic readwrite sensors/+/humidity
topic read status/#
topic write cmd/+/set
topic readwrite bench/#
user alice
topic readwrite alice/#
pattern readwrite devices/%c/#
pattern read users/%u/inbox
`

// childOptions adjust the child broker of startPeer, by the value of childEnv.
var childOptions = map[string]func(*broker.Options){
	"acl1": func(o *broker.Options) {
		a, err := auth.ParseACL([]byte(benchACL))
		if err != nil {
			panic(err)
		}
		o.Authorizer = &auth.Policy{ACL: a}
	},
	// A users file that admits anonymous clients too: every CONNECT goes
	// off the event loop, as with any users file.
	"users1": func(o *broker.Options) {
		h, err := auth.HashPassword([]byte("pw"))
		if err != nil {
			panic(err)
		}
		u, err := auth.ParseUsers([]byte("alice:" + h + "\n"))
		if err != nil {
			panic(err)
		}
		o.Authorizer = &auth.Policy{Users: u, AllowAnonymous: true}
	},
}

// BenchmarkACL measures the broker process's CPU per delivered message with
// and without an ACL (checked for every publish and every delivery), and
// with a users file (connections served off the event loop), each in its
// own process: compare broker-cpu-ns/msg of mqttx, mqttx-acl, mqttx-users.
func BenchmarkACL(b *testing.B) {
	if runtime.GOOS != "linux" {
		b.Skip("reads CPU time from /proc")
	}
	for _, peer := range []string{"mqttx", "mqttx-acl", "mqttx-users"} {
		b.Run(fmt.Sprintf("FanIn/QoS1/%s", peer), func(b *testing.B) {
			addr, cpu := startPeer(b, peer)
			runFanIn(b, addr, 8, 1, cpu)
		})
		b.Run(fmt.Sprintf("FanOut/QoS0/%s", peer), func(b *testing.B) {
			addr, cpu := startPeer(b, peer)
			runFanOut(b, addr, 16, 0, cpu)
		})
	}
}

// BenchmarkLoginStorm connects 150 clients at once with the right password
// (a network blip reconnecting everyone) and reports the time per login, for
// mqttx and for mosquitto with the same kind of password file ($7$,
// PBKDF2-SHA512, 101 iterations, as mosquitto_passwd writes it), and for
// mqttx with bcrypt hashes of cost 10.
func BenchmarkLoginStorm(b *testing.B) {
	const clients = 150
	h, err := auth.HashPassword([]byte("pw"))
	if err != nil {
		b.Fatal(err)
	}
	users, err := auth.ParseUsers([]byte("alice:" + h + "\n"))
	if err != nil {
		b.Fatal(err)
	}
	peers := map[string]func(b *testing.B) string{
		"mqttx": func(b *testing.B) string {
			return brokertest.Start(b, func(o *broker.Options) { o.Authorizer = &auth.Policy{Users: users} })
		},
		"mosquitto": func(b *testing.B) string {
			return mosquittotest.Start(b, mosquittotest.WithUser("alice", "pw"))
		},
		// bcrypt at cost 10 (htpasswd -B, the YAML form's usual hashes):
		// bounded by the cores, a check at a time on each.
		"mqttx-bcrypt10": func(b *testing.B) string {
			h, err := bcrypt.GenerateFromPassword([]byte("pw"), 10)
			if err != nil {
				b.Fatal(err)
			}
			users, err := auth.ParseUsers([]byte("alice:" + string(h) + "\n"))
			if err != nil {
				b.Fatal(err)
			}
			return brokertest.Start(b, func(o *broker.Options) { o.Authorizer = &auth.Policy{Users: users} })
		},
	}
	for _, name := range []string{"mqttx", "mosquitto", "mqttx-bcrypt10"} {
		b.Run(name, func(b *testing.B) {
			addr := peers[name](b)
			connect, _ := (&packet.Connect{ClientID: "", CleanStart: true, Username: "alice", UsernameFlag: true,
				Password: []byte("pw"), PasswordFlag: true}).AppendTo(nil, packet.V311)
			b.ResetTimer()
			for range b.N {
				var wg sync.WaitGroup
				errs := make(chan error, clients)
				for range clients {
					wg.Add(1)
					go func() {
						defer wg.Done()
						nc, err := net.DialTimeout("tcp", addr, 10*time.Second)
						if err != nil {
							errs <- err
							return
						}
						defer nc.Close()
						nc.SetDeadline(time.Now().Add(30 * time.Second))
						nc.Write(connect)
						var ack [4]byte
						if _, err := io.ReadFull(nc, ack[:]); err != nil || ack[3] != 0 {
							errs <- fmt.Errorf("CONNACK %v: %v", ack, err)
						}
					}()
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*clients), "ns/login")
		})
	}
}
