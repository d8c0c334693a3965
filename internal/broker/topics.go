package broker

import (
	"strings"
	"sync"
	"sync/atomic"
)

// subscription is one session's subscription to one filter. Values are
// immutable once in the tree; a re-subscribe replaces the pointer.
type subscription struct {
	sess        *session
	filter      string // the filter as subscribed, including any $share/group/ prefix
	group       string // share name, "" for a normal subscription
	qos         byte
	noLocal     bool
	retainAsPub bool
	retainHandl byte
	id          uint32 // v5 subscription identifier, 0 when absent
}

// node is one level of the topic tree.
type node struct {
	children map[string]*node
	subs     map[string]*subscription // by client id
	shared   map[string]*shareGroup   // by share name
}

// shareGroup holds the members of one $share/name/filter group.
type shareGroup struct {
	members []*subscription // copy-on-write under the tree's write lock
	next    atomic.Uint32
}

// topicTree routes topic names to subscriptions. Readers (publishes) take
// the read lock only; the round-robin counter of shared groups is atomic.
type topicTree struct {
	mu   sync.RWMutex
	root node
}

// splitShared splits "$share/name/filter" into name and filter; for other
// filters it returns "" and the filter unchanged.
func splitShared(filter string) (group, f string) {
	if !strings.HasPrefix(filter, "$share/") {
		return "", filter
	}
	rest := filter[len("$share/"):]
	i := strings.IndexByte(rest, '/')
	if i < 0 {
		return "", filter
	}
	return rest[:i], rest[i+1:]
}

// add inserts or replaces s; it reports whether a subscription of the same
// session to the same filter existed.
func (t *topicTree) add(s *subscription) (existed bool) {
	_, f := splitShared(s.filter)
	t.mu.Lock()
	defer t.mu.Unlock()
	n := &t.root
	forEachLevel(f, func(level string) {
		if n.children == nil {
			n.children = make(map[string]*node)
		}
		c := n.children[level]
		if c == nil {
			c = &node{}
			n.children[level] = c
		}
		n = c
	})
	id := s.sess.id
	if s.group == "" {
		if n.subs == nil {
			n.subs = make(map[string]*subscription)
		}
		_, existed = n.subs[id]
		n.subs[id] = s
		return existed
	}
	if n.shared == nil {
		n.shared = make(map[string]*shareGroup)
	}
	g := n.shared[s.group]
	if g == nil {
		g = &shareGroup{}
		n.shared[s.group] = g
	}
	members := make([]*subscription, 0, len(g.members)+1)
	for _, m := range g.members {
		if m.sess.id == id {
			existed = true
			continue
		}
		members = append(members, m)
	}
	g.members = append(members, s)
	return existed
}

// remove deletes the subscription of session x to filter; it reports whether
// one existed. Empty nodes are pruned.
func (t *topicTree) remove(x *session, filter string) bool {
	group, f := splitShared(filter)
	t.mu.Lock()
	defer t.mu.Unlock()
	return removeAt(&t.root, f, x, group)
}

func removeAt(n *node, rest string, x *session, group string) bool {
	if rest == "\x00" {
		if group == "" {
			if sub, ok := n.subs[x.id]; ok && sub.sess == x {
				delete(n.subs, x.id)
				return true
			}
			return false
		}
		g := n.shared[group]
		if g == nil {
			return false
		}
		found := false
		members := make([]*subscription, 0, len(g.members))
		for _, m := range g.members {
			if m.sess == x {
				found = true
				continue
			}
			members = append(members, m)
		}
		if len(members) == 0 {
			delete(n.shared, group)
		} else {
			g.members = members
		}
		return found
	}
	level, next := rest, "\x00"
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		level, next = rest[:i], rest[i+1:]
	}
	c := n.children[level]
	if c == nil {
		return false
	}
	found := removeAt(c, next, x, group)
	if len(c.children) == 0 && len(c.subs) == 0 && len(c.shared) == 0 {
		delete(n.children, level)
	}
	return found
}

func forEachLevel(topic string, fn func(string)) {
	for {
		i := strings.IndexByte(topic, '/')
		if i < 0 {
			fn(topic)
			return
		}
		fn(topic[:i])
		topic = topic[i+1:]
	}
}

// matches collects the subscriptions matching one topic name. Each reader keeps one
// and reuses it, so a publish does not allocate per level or per match.
type matches struct {
	subs   []*subscription // normal subscriptions, possibly several per session
	shared []*subscription // one chosen member per matching share group
}

func (m *matches) reset() {
	clear(m.subs)
	clear(m.shared)
	m.subs = m.subs[:0]
	m.shared = m.shared[:0]
}

// match fills m with the subscriptions matching topic. Wildcards at the
// first level do not match topics beginning with '$' [MQTT-4.7.2-1].
func (t *topicTree) match(topic string, m *matches) {
	t.mu.RLock()
	walk(&t.root, topic, 0, true, m)
	t.mu.RUnlock()
}

func walk(n *node, topic string, start int, root bool, m *matches) {
	if start > len(topic) {
		collect(n, m)
		// "a/#" also matches "a" [MQTT-4.7.1-2].
		if c := n.children["#"]; c != nil {
			collect(c, m)
		}
		return
	}
	var level string
	next := len(topic) + 1
	if i := strings.IndexByte(topic[start:], '/'); i >= 0 {
		level = topic[start : start+i]
		next = start + i + 1
	} else {
		level = topic[start:]
	}
	if !(root && strings.HasPrefix(level, "$")) {
		if c := n.children["#"]; c != nil {
			collect(c, m)
		}
		if c := n.children["+"]; c != nil {
			walk(c, topic, next, false, m)
		}
	}
	if c := n.children[level]; c != nil {
		walk(c, topic, next, false, m)
	}
}

func collect(n *node, m *matches) {
	for _, s := range n.subs {
		m.subs = append(m.subs, s)
	}
	for _, g := range n.shared {
		members := g.members
		if len(members) == 0 {
			continue
		}
		// Round robin, preferring a member that is connected.
		start := g.next.Add(1)
		pick := members[int(start%uint32(len(members)))]
		for i := range uint32(len(members)) {
			c := members[int((start+i)%uint32(len(members)))]
			if c.sess.isOnline() {
				pick = c
				break
			}
		}
		m.shared = append(m.shared, pick)
	}
}

// matchFilter reports whether topic name matches filter (without any
// $share prefix), following the same rules as the tree.
func matchFilter(filter, topic string) bool {
	if strings.HasPrefix(topic, "$") && (strings.HasPrefix(filter, "+") || strings.HasPrefix(filter, "#")) {
		return false
	}
	for {
		var fl string
		fi := strings.IndexByte(filter, '/')
		if fi < 0 {
			fl = filter
		} else {
			fl = filter[:fi]
		}
		if fl == "#" {
			return true
		}
		ti := strings.IndexByte(topic, '/')
		var tl string
		if ti < 0 {
			tl = topic
		} else {
			tl = topic[:ti]
		}
		if fl != "+" && fl != tl {
			return false
		}
		switch {
		case fi < 0 && ti < 0:
			return true
		case fi < 0:
			return false
		case ti < 0:
			// Topic ended; the filter may only continue with "/#".
			return filter[fi+1:] == "#"
		}
		filter, topic = filter[fi+1:], topic[ti+1:]
	}
}
