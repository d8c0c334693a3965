package broker_test

import (
	"testing"
	"time"

	"github.com/mqttx/mqttx/internal/broker"
	"github.com/mqttx/mqttx/internal/broker/auth"
	"github.com/mqttx/mqttx/internal/broker/brokertest"
	"github.com/mqttx/mqttx/internal/packet"
)

// waitSys reads PUBLISHes until topic carries want.
func waitSys(t *testing.T, c *rawClient, topic, want string) {
	t.Helper()
	last := ""
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		p, err := c.readErr(5 * time.Second)
		if err != nil {
			break
		}
		if m, ok := p.(*packet.Publish); ok && string(m.Topic) == topic {
			if last = string(m.Payload); last == want {
				return
			}
		}
	}
	t.Fatalf("%s never became %q (last %q)", topic, want, last)
}

func TestSysTopics(t *testing.T) {
	addr := brokertest.Start(t, func(o *broker.Options) { o.SysInterval = 20 * time.Millisecond; o.Version = "v9" })
	mon, _ := conn(t, addr, packet.V5, "mon", true)
	mon.subscribe(1, sub("$SYS/broker/#", 0), sub("#", 0))
	waitSys(t, mon, "$SYS/broker/version", "mqttx v9")
	pub, _ := conn(t, addr, packet.V311, "pub", true)
	for i := range 3 {
		pub.publish("t/x", "m", 1, i == 0, uint16(i+1))
	}
	waitSys(t, mon, "$SYS/broker/clients/connected", "2")
	waitSys(t, mon, "$SYS/broker/messages/received", "3")
	// mon received the three, and the $SYS messages it got are counted too:
	// read only that the count is published.
	waitSys(t, mon, "$SYS/broker/subscriptions/count", "2")
	pub.disconnect()
	waitSys(t, mon, "$SYS/broker/clients/connected", "1")
	waitSys(t, mon, "$SYS/broker/messages/received", "3") // kept after the session ended
}

// TestSysTopicsReadOnlyWhereTheACLAllows checks that the broker's own
// messages go through the same read check as any other.
func TestSysTopicsReadOnlyWhereTheACLAllows(t *testing.T) {
	a, err := auth.ParseACL([]byte("topic read $SYS/broker/uptime\ntopic read t\n"))
	if err != nil {
		t.Fatal(err)
	}
	addr := brokertest.Start(t, func(o *broker.Options) {
		o.SysInterval = 20 * time.Millisecond
		o.Authorizer = &auth.Policy{ACL: a}
	})
	c, _ := conn(t, addr, packet.V311, "c", true)
	c.subscribe(1, sub("$SYS/#", 0))
	for range 20 {
		p := c.expectPublish()
		if string(p.Topic) != "$SYS/broker/uptime" {
			t.Fatalf("got %s, which the ACL does not let it read", p.Topic)
		}
	}
}
