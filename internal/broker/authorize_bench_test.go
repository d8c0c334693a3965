package broker_test

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/mqttx/mqttx/internal/broker"
	"github.com/mqttx/mqttx/internal/broker/auth"
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
}

// BenchmarkACL measures the broker process's CPU per delivered message with
// and without an ACL (checked for every publish and every delivery), each in
// its own process: compare broker-cpu-ns/msg of mqttx and mqttx-acl.
func BenchmarkACL(b *testing.B) {
	if runtime.GOOS != "linux" {
		b.Skip("reads CPU time from /proc")
	}
	for _, peer := range []string{"mqttx", "mqttx-acl"} {
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
