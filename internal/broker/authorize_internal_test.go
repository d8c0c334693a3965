package broker

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	"github.com/mqttx/mqttx/internal/broker/auth"
)

func TestACLCache(t *testing.T) {
	var c *aclCache
	if _, found := c.lookup("a"); found {
		t.Fatal("found in a nil cache")
	}
	for i := range aclCacheSize + 2 {
		c = c.store("t/"+strconv.Itoa(i), i%2 == 0)
	}
	for i := range aclCacheSize + 2 {
		ok, found := c.lookup("t/" + strconv.Itoa(i))
		if evicted := i < 2; found == evicted {
			t.Errorf("t/%d: found %v, want %v (the oldest go first)", i, found, !evicted)
		}
		if found && ok != (i%2 == 0) {
			t.Errorf("t/%d: decision %v, want %v", i, ok, i%2 == 0)
		}
	}
	b := []byte("x/y")
	c = c.store(string(b), true)
	b[0] = 'z'
	if _, found := c.lookup("x/y"); !found {
		t.Fatal("cached topic changed with the caller's bytes: it must be copied")
	}
}

// BenchmarkRouteACL measures what an ACL adds to a publish: the publisher's
// check and each subscriber's read check, on the route to 16 sessions
// (offline, so QoS 0 goes no further). Topics: one (runs of one topic) or 8
// in turn (8 publishers to one subscriber).
func BenchmarkRouteACL(b *testing.B) {
	acl, err := auth.ParseACL([]byte(`topic read public/#
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
`))
	if err != nil {
		b.Fatal(err)
	}
	for _, topics := range []int{1, 8} {
		for _, withACL := range []bool{false, true} {
			name := fmt.Sprintf("topics=%d/acl=%v", topics, withACL)
			b.Run(name, func(b *testing.B) {
				var o Options
				if withACL {
					o.Authorizer = &auth.Policy{ACL: acl}
				}
				s := New(o)
				defer s.Shutdown(context.Background())
				for i := range 16 {
					x := newSession(s, "sub"+strconv.Itoa(i))
					sub := &subscription{sess: x, filter: "bench/#"}
					x.subs = map[string]*subscription{"bench/#": sub}
					s.sessions.Put(x)
					s.tree.add(sub)
				}
				pub := newSession(s, "pub")
				names := make([]string, topics)
				for i := range names {
					names[i] = "bench/in/" + strconv.Itoa(i)
				}
				payload := make([]byte, 256)
				b.ResetTimer()
				for i := range b.N {
					t := names[i%topics]
					if !s.mayPublish(pub, t) {
						b.Fatal("denied")
					}
					s.route(&message{topic: t, payload: payload})
				}
			})
		}
	}
}
