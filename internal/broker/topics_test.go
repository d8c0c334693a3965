package broker

import (
	"slices"
	"testing"
)

func testSess(id string) *session { return &session{id: id} }

func matchIDs(t *topicTree, topic string) []string {
	m := &matches{}
	t.match(topic, m)
	var ids []string
	for _, s := range m.subs {
		ids = append(ids, s.sess.id+":"+s.filter)
	}
	for _, s := range m.shared {
		ids = append(ids, "shared:"+s.sess.id+":"+s.filter)
	}
	slices.Sort(ids)
	return ids
}

func TestTopicTreeWildcards_MQTT_4_7_1(t *testing.T) {
	var tr topicTree
	a := testSess("a")
	for _, f := range []string{"sport/tennis/player1/#", "sport/#", "sport/+", "+/+", "#", "+/tennis/#", "sport/tennis/+", "/+", "+"} {
		tr.add(&subscription{sess: a, filter: f})
	}
	tests := []struct {
		topic string
		want  []string
	}{
		// [MQTT-4.7.1-2] "sport/tennis/player1/#" matches "sport/tennis/player1" too.
		{"sport/tennis/player1", []string{"a:#", "a:+/tennis/#", "a:sport/#", "a:sport/tennis/+", "a:sport/tennis/player1/#"}},
		{"sport/tennis/player1/ranking", []string{"a:#", "a:+/tennis/#", "a:sport/#", "a:sport/tennis/player1/#"}},
		{"sport", []string{"a:#", "a:+", "a:sport/#"}},
		{"sport/", []string{"a:#", "a:+/+", "a:sport/#", "a:sport/+"}},
		{"/finance", []string{"a:#", "a:+/+", "a:/+"}},
		{"x", []string{"a:#", "a:+"}},
	}
	for _, tt := range tests {
		if got := matchIDs(&tr, tt.topic); !slices.Equal(got, tt.want) {
			t.Errorf("match(%q) = %v, want %v", tt.topic, got, tt.want)
		}
		for _, w := range tt.want {
			f := w[2:]
			if !matchFilter(f, tt.topic) {
				t.Errorf("matchFilter(%q, %q) = false, want true", f, tt.topic)
			}
		}
	}
}

func TestDollarTopicsNotMatchedByFirstLevelWildcards_MQTT_4_7_2_1(t *testing.T) {
	var tr topicTree
	a := testSess("a")
	for _, f := range []string{"#", "+/monitor/Clients", "$SYS/#", "$SYS/monitor/+"} {
		tr.add(&subscription{sess: a, filter: f})
	}
	got := matchIDs(&tr, "$SYS/monitor/Clients")
	want := []string{"a:$SYS/#", "a:$SYS/monitor/+"}
	if !slices.Equal(got, want) {
		t.Fatalf("match = %v, want %v", got, want)
	}
	if matchFilter("#", "$SYS/x") || matchFilter("+/x", "$SYS/x") {
		t.Fatal("matchFilter matched a $ topic with a first-level wildcard")
	}
}

func TestTopicTreeRemovePrunes(t *testing.T) {
	var tr topicTree
	a, b := testSess("a"), testSess("b")
	tr.add(&subscription{sess: a, filter: "x/y/z"})
	if tr.add(&subscription{sess: a, filter: "x/y/z", qos: 1}) != true {
		t.Fatal("re-subscribe not reported as existing")
	}
	tr.add(&subscription{sess: b, filter: "x/+/z"})
	if !tr.remove(a, "x/y/z") || tr.remove(a, "x/y/z") {
		t.Fatal("remove reported wrongly")
	}
	if got := matchIDs(&tr, "x/y/z"); !slices.Equal(got, []string{"b:x/+/z"}) {
		t.Fatalf("after remove: %v", got)
	}
	tr.remove(b, "x/+/z")
	if len(tr.root.children) != 0 {
		t.Fatalf("tree not pruned: %v", tr.root.children)
	}
}

func TestSharedSubscriptionRoundRobin_MQTT_4_8_2(t *testing.T) {
	var tr topicTree
	a, b := testSess("a"), testSess("b")
	tr.add(&subscription{sess: a, filter: "$share/g/s/+", group: "g"})
	tr.add(&subscription{sess: b, filter: "$share/g/s/+", group: "g"})
	tr.add(&subscription{sess: a, filter: "$share/h/s/#", group: "h"})
	count := map[string]int{}
	for range 10 {
		m := &matches{}
		tr.match("s/1", m)
		if len(m.subs) != 0 || len(m.shared) != 2 {
			t.Fatalf("got %d normal, %d shared, want 0, 2", len(m.subs), len(m.shared))
		}
		for _, s := range m.shared {
			count[s.group+s.sess.id]++
		}
	}
	if count["ga"] != 5 || count["gb"] != 5 || count["ha"] != 10 {
		t.Fatalf("distribution %v, want ga=5 gb=5 ha=10", count)
	}
	if !tr.remove(a, "$share/g/s/+") {
		t.Fatal("shared remove failed")
	}
	m := &matches{}
	tr.match("s/1", m)
	if len(m.shared) != 2 {
		t.Fatalf("after remove: %d shared", len(m.shared))
	}
}

func TestMatchDoesNotAllocate(t *testing.T) {
	var tr topicTree
	for _, f := range []string{"a/b/c", "a/+/c", "a/#", "#"} {
		tr.add(&subscription{sess: testSess(f), filter: f})
	}
	m := &matches{}
	tr.match("a/b/c", m)
	allocs := testing.AllocsPerRun(100, func() {
		m.reset()
		tr.match("a/b/c", m)
	})
	if allocs != 0 {
		t.Fatalf("match allocates %v times per call", allocs)
	}
}
